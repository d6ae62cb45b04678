//! Markdown for pull-request comments: the summary first, each resource's details in a
//! collapsible block, so a reviewer sees the size of a change before its detail.

use std::fmt::Write;

use super::drift_words;
use crate::escape::{fenced, html, markdown_code, markdown_text};
use crate::plan::document::{DriftDocument, DriftStatus};
use crate::plan::{Action, Change, Plan};

fn action_text(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update in place",
        Action::Replace => "replace",
        Action::Delete => "destroy",
        Action::NoOp => "no change",
    }
}

/// A `diff` code block: GitHub colours `+` and `-` lines. Every value is escaped: an alert
/// expression or a broker's message must not close the fence or the `<details>`.
fn details(out: &mut String, change: &Change) {
    let _ = writeln!(
        out,
        "<details><summary><code>{}</code>: {}{}</summary>\n",
        html(&change.id.to_string()),
        action_text(change.action),
        if change.destructive {
            " (destructive)"
        } else {
            ""
        }
    );
    let mut lines = vec![];
    for diff in &change.diffs {
        let field = &diff.field;
        match (&diff.before, &diff.after) {
            (None, Some(after)) => lines.push(format!("+ {field}: {after}")),
            (Some(before), None) => lines.push(format!("- {field}: {before}")),
            (Some(before), Some(after)) => {
                lines.push(format!("- {field}: {before}"));
                lines.push(format!("+ {field}: {after}"));
            }
            (None, None) => lines.push(format!("  {field}")),
        }
    }
    out.push_str(&fenced("diff", &lines));
    for hazard in &change.hazards {
        let _ = writeln!(out, "\n> **Note:** {}", markdown_text(&hazard.message));
    }
    if let Some(reason) = &change.deferred {
        let _ = writeln!(out, "\n> **Deferred:** {}", markdown_text(reason));
    }
    let _ = writeln!(out, "\n</details>\n");
}

fn table(out: &mut String, changes: &[&Change]) {
    let _ = writeln!(out, "| | resource | action |\n| --- | --- | --- |");
    for change in changes {
        let _ = writeln!(
            out,
            "| `{}` | {} | {}{} |",
            change.action.symbol(),
            markdown_code(&change.id.to_string()),
            action_text(change.action),
            if change.destructive {
                " **(destructive)**"
            } else {
                ""
            }
        );
    }
    out.push('\n');
}

/// What the changed resources cost a month, and the plan's totals: the reviewer's number.
fn cost_table(out: &mut String, changes: &[&Change], plan: &Plan) {
    let Some(total) = &plan.cost else { return };
    let priced: Vec<&&Change> = changes.iter().filter(|c| c.cost.is_some()).collect();
    if !priced.is_empty() {
        let _ = writeln!(
            out,
            "| resource | $/month before | $/month after | floor | ceiling |\n| --- | ---: | ---: | ---: | ---: |"
        );
        let cell = |m: Option<crate::plan::cost::Money>| {
            m.map(|m| m.to_string()).unwrap_or_else(|| "–".into())
        };
        for change in priced {
            let Some(cost) = &change.cost else { continue };
            let range = cost
                .range
                .as_ref()
                .map(|r| format!(" ({})", markdown_text(r)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {}{range} |",
                markdown_code(&change.id.to_string()),
                cell(cost.monthly_before),
                cell(cost.monthly_after),
                cell(cost.floor_after),
                cell(cost.ceiling_after),
            );
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "**{}**\n",
        markdown_text(&super::cost::total_line(total))
    );
}

/// GitHub refuses a comment longer than this many characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// The hidden first line of a plan comment: a CI job finds its earlier comment by it and
/// updates that one instead of adding another (a "sticky" comment), one per stack.
pub fn plan_marker(stack: &str) -> String {
    // A stack name cannot end the comment early: `-->` and `--` are escaped with the rest.
    format!(
        "<!-- pipectl-plan: {} -->",
        html(stack).replace("--", "&#45;&#45;")
    )
}

/// The hidden first line of a drift report.
pub const DRIFT_MARKER: &str = "<!-- pipectl-drift -->";

pub fn plan(plan: &Plan, file: &str) -> String {
    let mut head = String::new();
    let summary = plan.summary();
    let _ = writeln!(head, "{}", plan_marker(&plan.stack));
    let (stack, file) = (markdown_code(&plan.stack), markdown_code(file));
    let _ = writeln!(head, "### pipectl plan: {stack} ({file})\n");
    if let Some(location) = &plan.location {
        let _ = writeln!(head, "{}\n", markdown_text(location));
    }
    for change in plan.unhealthy() {
        if let Some(health) = &change.unhealthy {
            let _ = writeln!(
                head,
                "**Unhealthy:** {} does not work: {} ({})\n",
                markdown_code(&change.id.to_string()),
                markdown_text(&health.reason),
                markdown_text(&health.help)
            );
        }
    }
    if !plan.has_changes() {
        if plan.unhealthy().next().is_some() {
            let _ = writeln!(
                head,
                "**No changes to make**, but the resources above do not work."
            );
        } else {
            let _ = writeln!(head, "**No changes.** Live state matches {file}.");
        }
        return head;
    }
    let _ = writeln!(
        head,
        "**Plan: {} to create, {} to change, {} to destroy.**\n",
        summary.create, summary.change, summary.destroy
    );
    let destructive = plan.destructive().count();
    if destructive > 0 {
        let _ = writeln!(
            head,
            "**{destructive} destructive change{}**: apply needs `--allow-destroy`.\n",
            if destructive == 1 { "" } else { "s" }
        );
    }
    let changes: Vec<&Change> = plan.actionable().collect();
    table(&mut head, &changes);
    cost_table(&mut head, &changes, plan);
    for note in &plan.notes {
        let _ = writeln!(head, "_Note: {}_\n", markdown_text(note));
    }
    let blocks = changes
        .iter()
        .map(|change| {
            let mut block = String::new();
            details(&mut block, change);
            block
        })
        .collect();
    within_comment_limit(head, blocks)
}

/// The head (summary, table, notes) and as many detail blocks as fit under GitHub's comment
/// limit; when some do not fit, a note says how many are left out and where the whole plan is.
fn within_comment_limit(head: String, blocks: Vec<String>) -> String {
    const TRUNCATION_NOTE_ROOM: usize = 400;
    let total = blocks.len();
    let mut out = head;
    let mut used = out.chars().count();
    for (shown, block) in blocks.into_iter().enumerate() {
        let size = block.chars().count();
        if used + size + TRUNCATION_NOTE_ROOM > COMMENT_LIMIT {
            let _ = writeln!(
                out,
                "**Truncated:** details of {} of {total} resources are not shown, to stay under GitHub's {COMMENT_LIMIT}-character comment limit. The table above lists them all; the whole plan is the JSON document (`pipectl plan --out plan.json`, attached to this run), which `pipectl show plan.json` prints.",
                total - shown
            );
            return out;
        }
        out.push_str(&block);
        used += size;
    }
    out
}

pub fn drift(document: &DriftDocument) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{DRIFT_MARKER}");
    let _ = writeln!(
        out,
        "### pipectl drift: {} of {} stack{} drifted, {} error{}\n",
        document.drifted,
        document.stacks.len(),
        if document.stacks.len() == 1 { "" } else { "s" },
        document.errors,
        if document.errors == 1 { "" } else { "s" }
    );
    let fleet = crate::render::fleet::summary(
        document,
        "\n**The same difference in several stacks:**\n\n",
        "- ",
        markdown_code,
        crate::escape::markdown_text,
    );
    if !fleet.is_empty() {
        out.push_str(&fleet);
        out.push('\n');
    }
    let _ = writeln!(out, "| stack file | stack | status |\n| --- | --- | --- |");
    for stack in &document.stacks {
        let status = match stack.status {
            DriftStatus::InSync => "in sync".to_string(),
            DriftStatus::Drifted => {
                format!("**drifted** ({})", drift_words::count(stack.changes.len()))
            }
            DriftStatus::Error => "**error**".to_string(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {status} |",
            markdown_code(&stack.stack_file),
            stack
                .stack
                .as_deref()
                .map(markdown_code)
                .unwrap_or_default()
        );
    }
    out.push('\n');
    let mut blocks = vec![];
    for stack in &document.stacks {
        if let Some(error) = &stack.error {
            let lines: Vec<String> = error.lines().map(str::to_string).collect();
            blocks.push(format!(
                "**{}**:\n\n{}\n",
                markdown_code(&stack.stack_file),
                fenced("", &lines)
            ));
        }
        for change in &stack.changes {
            let mut block = String::new();
            drift_details(&mut block, change);
            blocks.push(block);
        }
    }
    within_comment_limit(out, blocks)
}

/// One drifted resource, collapsed: live against spec per field.
fn drift_details(out: &mut String, change: &Change) {
    let _ = writeln!(
        out,
        "<details><summary><code>{}</code>: {}</summary>\n",
        html(&change.id.to_string()),
        drift_words::what_happened(change.action)
    );
    for diff in &change.diffs {
        let _ = writeln!(out, "- {}", markdown_text(&drift_words::field(diff)));
    }
    if let Some(health) = &change.unhealthy {
        let _ = writeln!(
            out,
            "- does not work: {} ({})",
            markdown_text(&health.reason),
            markdown_text(&health.help)
        );
    }
    let _ = writeln!(out, "\n</details>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An alert expression that tries to close the fence, fake a "No changes" line and hide
    /// the rest of the comment stays inside its own line of the diff block.
    #[test]
    fn a_hostile_value_stays_inside_its_diff_line() {
        use crate::plan::{FieldDiff, ResourceId, ResourceKind};
        let hostile = "up == 0\n```\n**No changes.**\n<!--";
        let change = Change {
            diffs: vec![FieldDiff::new(
                "expr",
                Some("up == 1".into()),
                Some(hostile.into()),
            )],
            ..Change::new(
                ResourceId::new(
                    ResourceKind::named("eks.alerts"),
                    "kafka/rules</code></summary><!--",
                ),
                Action::Update,
                "l",
            )
        };
        let mut out = String::new();
        details(&mut out, &change);
        // Inside the fence `<!--` is text; outside it nothing may open a comment.
        let outside: Vec<&str> = out.split("````").step_by(2).collect();
        assert_eq!(outside.len(), 2, "{out}");
        assert!(outside.iter().all(|part| !part.contains("<!--")), "{out}");
        assert_eq!(out.matches("</details>").count(), 1, "{out}");
        assert_eq!(out.matches("</summary>").count(), 1, "{out}");
        let fence = out
            .lines()
            .find(|l| l.starts_with("```"))
            .unwrap_or_default();
        assert_eq!(fence, "````diff", "{out}");
        assert!(out.lines().all(|l| !l.starts_with("**No changes")), "{out}");
    }

    #[test]
    fn a_long_comment_is_cut_at_a_whole_block_under_the_limit() {
        let block = format!("<details>{}</details>\n", "x".repeat(10_000));
        let blocks = vec![block; 10];
        let out = within_comment_limit("head\n".to_string(), blocks.clone());
        assert!(out.chars().count() <= COMMENT_LIMIT, "{}", out.len());
        assert!(
            out.contains("details of 4 of 10 resources are not shown"),
            "{out}"
        );
        assert_eq!(out.matches("</details>").count(), 6);
        let short = within_comment_limit("head\n".to_string(), blocks[..2].to_vec());
        assert!(!short.contains("Truncated"));
    }
}
