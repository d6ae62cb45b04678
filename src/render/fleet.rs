//! A fleet's drift seen across stacks: the same difference in several accounts told once
//! (text and Markdown), and the OpenMetrics text for a node exporter's textfile collector or a
//! Pushgateway.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::plan::document::{Coverage, DriftDocument, DriftStatus, StackDrift};

/// One difference (resource, field, file value, live value) and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cause {
    resource: String,
    field: String,
    /// What the stack file asks for (None: absent).
    file: Option<String>,
    /// What is live (None: absent).
    live: Option<String>,
    /// `ACCOUNT (STACK)` of each stack it was found in.
    places: Vec<String>,
}

/// Where a stack is: its account (or file when the stack names none) and name.
fn place(stack: &StackDrift) -> String {
    let account = stack.account_id.as_deref().unwrap_or("?");
    let name = stack.stack.as_deref().unwrap_or(&stack.stack_file);
    format!("{account} ({name})")
}

/// The differences found in more than one stack, the most widespread first.
fn shared_causes(document: &DriftDocument) -> Vec<Cause> {
    type Key = (String, String, Option<String>, Option<String>);
    let mut found: BTreeMap<Key, Vec<String>> = BTreeMap::new();
    for stack in &document.stacks {
        for change in &stack.changes {
            for diff in &change.diffs {
                let key = (
                    change.id.to_string(),
                    diff.field.clone(),
                    diff.after.clone(),
                    diff.before.clone(),
                );
                found.entry(key).or_default().push(place(stack));
            }
        }
    }
    let mut causes: Vec<Cause> = found
        .into_iter()
        .filter(|(_, places)| places.len() > 1)
        .map(|((resource, field, file, live), places)| Cause {
            resource,
            field,
            file,
            live,
            places,
        })
        .collect();
    causes.sort_by_key(|cause| std::cmp::Reverse(cause.places.len()));
    causes
}

/// "`R F`: file X, live Y in N accounts: A (S), B (S)".
fn cause_line(
    cause: &Cause,
    code: impl Fn(&str) -> String,
    text: impl Fn(&str) -> String,
) -> String {
    let shown = |value: &Option<String>| value.as_deref().map_or("(absent)".to_string(), &text);
    format!(
        "{}: file {}, live {} in {} stacks: {}",
        code(&format!("{} {}", cause.resource, cause.field)),
        shown(&cause.file),
        shown(&cause.live),
        cause.places.len(),
        cause
            .places
            .iter()
            .map(|p| text(p))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The organization's coverage in words: accounts no stack covers, stacks outside it.
fn coverage_lines(coverage: &Coverage, text: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    if let Some(error) = &coverage.error {
        let _ = writeln!(
            out,
            "\nThe organization's accounts could not be listed: {}",
            text(error)
        );
        return out;
    }
    if coverage.uncovered_accounts.is_empty() {
        let _ = writeln!(
            out,
            "\nEvery active account of the organization has a stack."
        );
    } else {
        let accounts: Vec<String> = coverage
            .uncovered_accounts
            .iter()
            .map(|a| format!("{} ({})", text(&a.id), text(&a.name)))
            .collect();
        let _ = writeln!(
            out,
            "\n{} active accounts of the organization have no stack: {}",
            accounts.len(),
            accounts.join(", ")
        );
    }
    if !coverage.stacks_outside.is_empty() {
        let files: Vec<String> = coverage.stacks_outside.iter().map(|f| text(f)).collect();
        let _ = writeln!(
            out,
            "{} stacks name an account the organization does not list: {}",
            files.len(),
            files.join(", ")
        );
    }
    out
}

/// What a drift report adds for a fleet: the organization's coverage, then each difference
/// found in several stacks once, under `heading`, one `bullet` line each. Values are written
/// with `code` and `text` (each format's escaping).
pub fn summary(
    document: &DriftDocument,
    heading: &str,
    bullet: &str,
    code: impl Fn(&str) -> String,
    text: impl Fn(&str) -> String,
) -> String {
    let mut out = String::new();
    if let Some(coverage) = &document.coverage {
        out.push_str(&coverage_lines(coverage, &text));
    }
    let causes = shared_causes(document);
    if !causes.is_empty() {
        out.push_str(heading);
        for cause in &causes {
            let _ = writeln!(out, "{bullet}{}", cause_line(cause, &code, &text));
        }
    }
    out
}

/// A label value of the OpenMetrics text format: backslash, double quote and newline escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The OpenMetrics text: per stack, resources drifted and whether it could be checked; the
/// run's success and time; `# EOF` last.
pub fn openmetrics(document: &DriftDocument, unix_seconds: u64) -> String {
    let mut out = String::new();
    let labels = |stack: &StackDrift| {
        format!(
            "account=\"{}\",region=\"{}\",stack=\"{}\"",
            label(stack.account_id.as_deref().unwrap_or("")),
            label(stack.region.as_deref().unwrap_or("")),
            label(stack.stack.as_deref().unwrap_or(&stack.stack_file))
        )
    };
    out.push_str("# TYPE pipectl_drift_resources gauge\n# HELP pipectl_drift_resources Resources whose live state differs from the stack file.\n");
    for stack in &document.stacks {
        let _ = writeln!(
            out,
            "pipectl_drift_resources{{{}}} {}",
            labels(stack),
            stack.changes.len()
        );
    }
    out.push_str("# TYPE pipectl_drift_stack_errors gauge\n# HELP pipectl_drift_stack_errors 1 when the stack could not be checked.\n");
    for stack in &document.stacks {
        let failed = u8::from(matches!(stack.status, DriftStatus::Error));
        let _ = writeln!(
            out,
            "pipectl_drift_stack_errors{{{}}} {failed}",
            labels(stack)
        );
    }
    if let Some(coverage) = &document.coverage {
        out.push_str("# TYPE pipectl_fleet_uncovered_accounts gauge\n# HELP pipectl_fleet_uncovered_accounts Active accounts of the organization no stack covers.\n");
        let _ = writeln!(
            out,
            "pipectl_fleet_uncovered_accounts {}",
            coverage.uncovered_accounts.len()
        );
    }
    out.push_str("# TYPE pipectl_drift_run_success gauge\n# HELP pipectl_drift_run_success 1 when every stack was checked.\n");
    let _ = writeln!(
        out,
        "pipectl_drift_run_success {}",
        u8::from(document.exit_code() != 1)
    );
    out.push_str("# TYPE pipectl_drift_run_timestamp_seconds gauge\n# HELP pipectl_drift_run_timestamp_seconds When the run finished.\n");
    let _ = writeln!(out, "pipectl_drift_run_timestamp_seconds {unix_seconds}");
    out.push_str("# EOF\n");
    out
}

/// Whether a stack falls to shard `index` of `count`: a stable hash of its account and name,
/// so the shards partition the fleet exactly and a stack stays on its shard from run to run.
pub fn in_shard(account: &str, stack: &str, index: u64, count: u64) -> bool {
    let digest = crate::digest::sha256_hex(format!("{account}/{stack}").as_bytes());
    let value = u64::from_str_radix(&digest[..16], 16).unwrap_or(0);
    value % count.max(1) == index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_fleet_exactly() {
        let stacks: Vec<(String, String)> = (0..1000)
            .map(|i| {
                (
                    format!("{:012}", 100_000_000_000u64 + i),
                    format!("logs-{}", i % 7),
                )
            })
            .collect();
        for count in [1, 2, 3, 8] {
            let mut sizes = vec![0usize; count as usize];
            for (account, stack) in &stacks {
                let shards: Vec<u64> = (0..count)
                    .filter(|i| in_shard(account, stack, *i, count))
                    .collect();
                assert_eq!(
                    shards.len(),
                    1,
                    "{account}/{stack} in {shards:?} of {count}"
                );
                sizes[shards[0] as usize] += 1;
            }
            // A fair share each (within a third of the mean for 1000 stacks).
            let mean = 1000 / count as usize;
            assert!(
                sizes.iter().all(|s| s.abs_diff(mean) < mean / 3 + 1),
                "{sizes:?}"
            );
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
