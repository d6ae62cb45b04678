//! The human-readable plan: Terraform's symbols (`+`, `~`, `-/+`, `-`), `before -> after` per
//! field, hazards under the change they belong to, and a one-line summary. Colour only where
//! the caller enabled it (`console` honours that switch globally).

use std::fmt::Write;

use console::style;

use super::drift_words;
use crate::engine::apply::{ApplyReport, Outcome};
use crate::escape::{log_text, printable};
use crate::plan::document::{DriftDocument, DriftStatus};
use crate::plan::{Action, Change, FieldDiff, Plan};

fn paint_symbol(action: Action, text: &str) -> String {
    match action {
        Action::Create => style(text).green().to_string(),
        Action::Update => style(text).yellow().to_string(),
        Action::Replace | Action::Delete => style(text).red().to_string(),
        Action::NoOp => text.to_string(),
    }
}

fn field_line(diff: &FieldDiff) -> String {
    let field = printable(&diff.field);
    let before = diff.before.as_deref().map(printable);
    let after = diff.after.as_deref().map(printable);
    match (before, after) {
        (None, Some(after)) => format!("{} {field}: {after}", style("+").green()),
        (Some(before), None) => format!("{} {field}: {before}", style("-").red()),
        (Some(before), Some(after)) => format!(
            "{} {field}: {before} -> {}",
            style("~").yellow(),
            style(after).bold()
        ),
        (None, None) => format!("  {field}"),
    }
}

/// One change: header line, its fields, its hazards. `destroy_allowed`: the run has
/// `--allow-destroy`, so a destructive change is marked as allowed rather than as needing it.
pub fn change(out: &mut String, change: &Change, destroy_allowed: bool) {
    let destructive = match (change.destructive, destroy_allowed) {
        (false, _) => String::new(),
        (true, false) => format!(" {}", style("(destructive: needs --allow-destroy)").red()),
        (true, true) => format!(" {}", style("(destructive, allowed)").red()),
    };
    let _ = writeln!(
        out,
        "  {} {} {}{}",
        paint_symbol(change.action, change.action.symbol()),
        style(printable(&change.id.to_string())).bold(),
        change.action.verb(),
        destructive
    );
    for diff in &change.diffs {
        let _ = writeln!(out, "      {}", field_line(diff));
    }
    for line in change.cost.iter().flat_map(super::cost::change_lines) {
        let _ = writeln!(out, "      {}", style(printable(&line)).dim());
    }
    for hazard in &change.hazards {
        let _ = writeln!(
            out,
            "      {} {}",
            style("!").magenta().bold(),
            printable(&hazard.message)
        );
    }
    if let Some(reason) = &change.deferred {
        let _ = writeln!(
            out,
            "      {} {}",
            style("deferred:").yellow().bold(),
            printable(reason)
        );
    }
}

/// Resources that exist as the file says but do not work: the service's reason and what to do.
fn unhealthy(out: &mut String, plan: &Plan) {
    for change in plan.unhealthy() {
        if let Some(health) = &change.unhealthy {
            unhealthy_lines(out, change, health);
        }
    }
}

fn unhealthy_lines(out: &mut String, change: &Change, health: &crate::plan::Unhealthy) {
    let _ = writeln!(
        out,
        "{} {} does not work: {}
   = help: {}",
        style("unhealthy:").red().bold(),
        change.id,
        printable(&health.reason),
        printable(&health.help)
    );
}

/// One drifted resource: what happened to it and, per field, live against spec.
fn drifted_resource(out: &mut String, change: &Change) {
    let _ = writeln!(
        out,
        "  {} {} {}",
        paint_symbol(change.action, "!"),
        style(printable(&change.id.to_string())).bold(),
        drift_words::what_happened(change.action)
    );
    for diff in &change.diffs {
        let _ = writeln!(out, "      {}", printable(&drift_words::field(diff)));
    }
    if let Some(health) = &change.unhealthy {
        let _ = writeln!(
            out,
            "      does not work: {}\n      = help: {}",
            printable(&health.reason),
            printable(&health.help)
        );
    }
}

pub fn summary_line(plan: &Plan) -> String {
    let s = plan.summary();
    format!(
        "Plan: {} to create, {} to change, {} to destroy.",
        s.create, s.change, s.destroy
    )
}

/// The whole plan. `file` is how the user named the stack file (for the no-change line).
pub fn plan(plan: &Plan, file: &str, verbose: bool) -> String {
    plan_allowing(plan, file, verbose, false)
}

/// The plan as apply shows it: with `--allow-destroy`, destructive changes say "allowed".
pub fn plan_allowing(plan: &Plan, file: &str, verbose: bool, destroy_allowed: bool) -> String {
    let mut out = String::new();
    for note in &plan.notes {
        let _ = writeln!(out, "{} {}", style("note:").cyan(), printable(note));
    }
    if verbose {
        for ignored in &plan.ignored {
            let _ = writeln!(
                out,
                "{} {} {}{}",
                style("ignored:").dim(),
                printable(&ignored.resource),
                printable(&ignored.field),
                ignored
                    .reason
                    .as_ref()
                    .map(|r| format!(" ({})", printable(r)))
                    .unwrap_or_default()
            );
        }
    }
    unhealthy(&mut out, plan);
    if !plan.has_changes() {
        if verbose {
            for unchanged in plan.changes.iter().filter(|c| c.action == Action::NoOp) {
                let _ = writeln!(out, "  = {} is up to date", unchanged.id);
            }
        }
        match plan.unhealthy().count() {
            0 => {
                let _ = writeln!(out, "No changes. Live state matches {file}.");
            }
            broken => {
                let _ = writeln!(
                    out,
                    "No changes to make, but {broken} resource{} of {file} do{} not work (above).",
                    if broken == 1 { "" } else { "s" },
                    if broken == 1 { "es" } else { "" }
                );
            }
        }
        return out;
    }
    let _ = writeln!(
        out,
        "pipectl will make these changes to stack {:?}:\n",
        printable(&plan.stack)
    );
    for c in plan.actionable() {
        change(&mut out, c, destroy_allowed);
        out.push('\n');
    }
    if verbose {
        for unchanged in plan.changes.iter().filter(|c| c.action == Action::NoOp) {
            let _ = writeln!(out, "  = {} is up to date", unchanged.id);
        }
    }
    let _ = writeln!(out, "{}", style(summary_line(plan)).bold());
    if let Some(cost) = &plan.cost {
        let _ = writeln!(out, "{}", printable(&super::cost::total_line(cost)));
    }
    out
}

/// Drift is a plan read the other way: what changed live since the spec was applied. With
/// `quiet`, stacks in sync print nothing.
pub fn drift(document: &DriftDocument, quiet: bool) -> String {
    let mut out = String::new();
    for stack in &document.stacks {
        let file = &stack.stack_file;
        match stack.status {
            DriftStatus::InSync => {
                if !quiet {
                    let _ = writeln!(out, "No drift. Live state matches {file}.");
                }
            }
            DriftStatus::Error => {
                // The error itself was printed on stderr when it happened.
                let _ = writeln!(
                    out,
                    "{} {file}: not checked (the error is printed above, on stderr)",
                    style("Error:").red().bold(),
                );
            }
            DriftStatus::Drifted => {
                let _ = writeln!(
                    out,
                    "Drift detected in stack {:?}: {} from {file}.\n",
                    printable(stack.stack.as_deref().unwrap_or("")),
                    drift_words::count(stack.changes.len())
                );
                for c in &stack.changes {
                    drifted_resource(&mut out, c);
                    out.push('\n');
                }
                let _ = writeln!(
                    out,
                    "Run `pipectl plan -f {file}` to see the changes that restore it, or update the spec."
                );
            }
        }
    }
    out.push_str(&crate::render::fleet::summary(
        document,
        "\nThe same difference in several stacks:\n",
        "  ",
        |t| format!("`{}`", printable(t)),
        |t| printable(t).into_owned(),
    ));
    if document.stacks.len() > 1 && (!quiet || document.exit_code() != 0) {
        let _ = writeln!(
            out,
            "\n{} stacks checked: {} in sync, {} drifted, {} could not be checked.",
            document.stacks.len(),
            document.stacks.len() - document.drifted - document.errors,
            document.drifted,
            document.errors
        );
    }
    out
}

/// The end of an apply: what was applied, what failed and why, what never started.
pub fn apply_report(report: &ApplyReport) -> String {
    let mut out = String::new();
    let width = report
        .results
        .iter()
        .map(|r| r.id.to_string().len())
        .max()
        .unwrap_or(0);
    let _ = writeln!(out, "\nApply summary:");
    for result in &report.results {
        let (mark, text) = match &result.outcome {
            Outcome::Applied => (style("applied").green().to_string(), String::new()),
            Outcome::Failed(error) => (
                style("FAILED").red().bold().to_string(),
                format!(": {}", log_text(error)),
            ),
            Outcome::Unconfirmed(why) => (
                style("started, not confirmed").yellow().to_string(),
                format!(": {}", log_text(why)),
            ),
            Outcome::NotStarted(why) => (
                style("not started").yellow().to_string(),
                format!(": {}", log_text(why)),
            ),
        };
        let _ = writeln!(
            out,
            "  {:width$}  {:>3}  {mark}{text}",
            result.id.to_string(),
            result.action.symbol()
        );
    }
    let (applied, failed, unconfirmed, skipped) = report.counts();
    let unconfirmed = if unconfirmed > 0 {
        format!("{unconfirmed} started but not confirmed, ")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "\n{applied} applied, {failed} failed, {unconfirmed}{skipped} not started."
    );
    out
}
