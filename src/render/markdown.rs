//! Markdown for pull-request comments: the summary first, each resource's details in a
//! collapsible block, so a reviewer sees the size of a change before its detail.

use std::fmt::Write;

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

/// A `diff` code block: GitHub colours `+` and `-` lines.
fn details(out: &mut String, change: &Change) {
    let _ = writeln!(
        out,
        "<details><summary><code>{}</code>: {}{}</summary>\n",
        change.id,
        action_text(change.action),
        if change.destructive {
            " (destructive)"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "```diff");
    for diff in &change.diffs {
        let line = match (&diff.before, &diff.after) {
            (None, Some(after)) => format!("+ {}: {after}", diff.field),
            (Some(before), None) => format!("- {}: {before}", diff.field),
            (Some(before), Some(after)) => {
                format!("- {}: {before}\n+ {}: {after}", diff.field, diff.field)
            }
            (None, None) => format!("  {}", diff.field),
        };
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "```");
    for hazard in &change.hazards {
        let _ = writeln!(out, "\n> **Note:** {}", hazard.message);
    }
    if let Some(reason) = &change.deferred {
        let _ = writeln!(out, "\n> **Deferred:** {reason}");
    }
    let _ = writeln!(out, "\n</details>\n");
}

fn table(out: &mut String, changes: &[&Change]) {
    let _ = writeln!(out, "| | resource | action |\n| --- | --- | --- |");
    for change in changes {
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {}{} |",
            change.action.symbol(),
            change.id,
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

pub fn plan(plan: &Plan, file: &str) -> String {
    let mut out = String::new();
    let summary = plan.summary();
    let _ = writeln!(out, "### pipectl plan: `{}` (`{file}`)\n", plan.stack);
    if !plan.has_changes() {
        let _ = writeln!(out, "**No changes.** Live state matches `{file}`.");
        return out;
    }
    let _ = writeln!(
        out,
        "**Plan: {} to create, {} to change, {} to destroy.**\n",
        summary.create, summary.change, summary.destroy
    );
    let destructive = plan.destructive().count();
    if destructive > 0 {
        let _ = writeln!(
            out,
            "**{destructive} destructive change{}**: apply needs `--allow-destroy`.\n",
            if destructive == 1 { "" } else { "s" }
        );
    }
    let changes: Vec<&Change> = plan.actionable().collect();
    table(&mut out, &changes);
    for change in changes {
        details(&mut out, change);
    }
    for note in &plan.notes {
        let _ = writeln!(out, "_Note: {note}_\n");
    }
    out
}

pub fn drift(document: &DriftDocument) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### pipectl drift: {} of {} stack{} drifted, {} error{}\n",
        document.drifted,
        document.stacks.len(),
        if document.stacks.len() == 1 { "" } else { "s" },
        document.errors,
        if document.errors == 1 { "" } else { "s" }
    );
    let _ = writeln!(out, "| stack file | stack | status |\n| --- | --- | --- |");
    for stack in &document.stacks {
        let status = match stack.status {
            DriftStatus::InSync => "in sync".to_string(),
            DriftStatus::Drifted => format!("**drifted** ({} resources)", stack.changes.len()),
            DriftStatus::Error => "**error**".to_string(),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {status} |",
            stack.stack_file,
            stack.stack.as_deref().unwrap_or("")
        );
    }
    out.push('\n');
    for stack in &document.stacks {
        if let Some(error) = &stack.error {
            let _ = writeln!(out, "**`{}`**: {error}\n", stack.stack_file);
        }
        for change in &stack.changes {
            details(&mut out, change);
        }
    }
    out
}
