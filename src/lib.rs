//! pipectl keeps the scaling settings of a Kafka log-processing stack on AWS in line with one
//! TOML file. The layers, bottom to top (each uses only those below it; `scripts/check-layers`
//! keeps it so):
//!
//! * [`digest`], [`escape`]: digests of what was read, and values printed as data;
//! * [`spec`]: the stack file: its own keys and the sections kinds register, loading, offline
//!   checks with file:line:column errors, and the writer `import` uses;
//! * [`plan`]: the plan as data (resource ids, actions, field diffs, hazards, lanes, steps);
//! * [`progress`]: live progress of the steps of an apply;
//! * [`providers`]: the backends: AWS clients, the Kubernetes cluster, the Kafka admin API;
//! * [`kinds`]: each kind of resource in one folder behind one interface: its sections of the
//!   file, checks, limits, read, diff, operations and import;
//! * [`engine`]: the registry of kinds, building a plan from them, applying it, and `import`;
//! * [`render`]: plans and reports for people and machines;
//! * [`cli`]: the `pipectl` command line.

pub mod cli;
pub mod digest;
pub mod engine;
pub mod escape;
pub mod kinds;
pub mod plan;
pub mod progress;
pub mod providers;
pub mod render;
pub mod spec;

/// For the tests that keep generated files (schemas, docs/cli.md) in step with the code: the
/// committed file must be what the code generates; with `update_var` set, it is rewritten.
#[cfg(test)]
pub(crate) fn assert_generated(relative: &str, generated: &str, update_var: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if std::env::var_os(update_var).is_some() {
        std::fs::write(&path, generated).expect("write the generated file");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{relative} is not what the code generates: run `{update_var}=1 cargo test --lib`"
    );
}
