//! pipectl keeps the scaling settings of a Kafka log-processing stack on AWS in line with one
//! TOML file. The pieces, in the order data flows through them:
//!
//! * [`spec`]: the stack file: types, loading, validation with file:line:column errors;
//! * [`providers`]: the only code that talks to AWS: reads live state, diffs it, applies steps;
//! * [`plan`]: the plan as data (resource ids, actions, field diffs, hazards, lanes, steps);
//! * [`apply`]: executes a plan lane by lane, concurrently, and reports what happened;
//! * [`render`]: shows plans and reports to people;
//! * [`import`]: a stack file written from live state;
//! * [`cli`]: the `pipectl` command line.

pub mod apply;
pub mod cli;
pub mod import;
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
