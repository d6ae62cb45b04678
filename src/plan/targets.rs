//! `--target`: acting on part of a stack during an incident, as Terraform's `-target` does.
//! Patterns are globs over resource ids (`*` any run of characters, `?` one), e.g.
//! `lambda.function.kafka-log-lambda` or `dynamodb.*.KafkaLogData*` (the table and its
//! indexes). A plan restricted by targets is partial by design: everything else in the stack is
//! neither compared nor changed, and the plan says so.

use serde::{Deserialize, Serialize};
use wildmatch::WildMatch;

use super::Plan;

/// Terraform's warning, in substance.
pub const PARTIAL_PLAN_WARNING: &str = "resource targeting is in effect: this plan covers only the resources --target selects, so it may not show every change the stack needs, and drift elsewhere goes unseen; use it for exceptional situations such as recovering from errors, and run a full plan afterwards";

/// The `--target` patterns of a run; empty means the whole stack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Targets(Vec<String>);

impl Targets {
    pub fn new(patterns: Vec<String>) -> Self {
        Targets(patterns)
    }

    pub fn is_whole_stack(&self) -> bool {
        self.0.is_empty()
    }

    pub fn patterns(&self) -> &[String] {
        &self.0
    }

    /// Whether the resource with this id is acted on.
    pub fn selects(&self, id: &str) -> bool {
        self.is_whole_stack() || self.0.iter().any(|p| WildMatch::new(p).matches(id))
    }

    /// Whether any of these ids is acted on (a table and its indexes, say): read only what
    /// some target can select.
    pub fn selects_any<'a>(&self, mut ids: impl Iterator<Item = &'a str>) -> bool {
        self.is_whole_stack() || ids.any(|id| self.selects(id))
    }

    /// Whether some target may select an id that starts with `prefix` (ids not known before a
    /// read, such as the volumes of a StatefulSet's claims): a pattern's literal start and the
    /// prefix must agree as far as both go.
    pub fn may_select_under(&self, prefix: &str) -> bool {
        self.is_whole_stack()
            || self.0.iter().any(|pattern| {
                let literal = pattern.split(['*', '?']).next().unwrap_or_default();
                literal.starts_with(prefix) || prefix.starts_with(literal)
            })
    }

    /// Keeps only the selected changes (and the errors about them, or about no resource in
    /// particular), and notes that the plan is partial. A pattern that selects nothing is an
    /// error: during an incident a typo must not pass as "no changes".
    /// `declared` names the stack's resources that were not read (for the message).
    pub fn restrict(&self, plan: &mut Plan, declared: &[String]) -> Result<(), String> {
        if self.is_whole_stack() {
            return Ok(());
        }
        let ids: Vec<String> = plan.changes.iter().map(|c| c.id.to_string()).collect();
        let mut known: Vec<&String> = ids.iter().chain(declared).collect();
        known.sort();
        known.dedup();
        for pattern in &self.0 {
            let matcher = WildMatch::new(pattern);
            if !ids.iter().any(|id| matcher.matches(id)) {
                let all: Vec<String> = known.iter().map(|id| id.to_string()).collect();
                let meant = super::nearest(pattern, &all)
                    .map(|id| format!("did you mean {id:?}? "))
                    .unwrap_or_default();
                return Err(format!(
                    "--target {pattern:?} selects no resource of stack {}; {meant}its resources are: {}",
                    plan.stack,
                    known
                        .iter()
                        .map(|id| id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        plan.changes.retain(|c| self.selects(&c.id.to_string()));
        plan.errors.retain(|e| {
            e.resource.parse::<super::ResourceId>().is_err() || self.selects(&e.resource)
        });
        plan.notes.push(format!(
            "{PARTIAL_PLAN_WARNING} (--target {})",
            self.0.join(", --target ")
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_select_ids() {
        let targets = Targets::new(vec!["dynamodb.*.Logs*".to_string()]);
        assert!(targets.selects("dynamodb.table.Logs"));
        assert!(targets.selects("dynamodb.index.Logs/ByScore"));
        assert!(!targets.selects("dynamodb.table.Other"));
        assert!(!targets.selects("lambda.function.Logs"));
        assert!(Targets::default().selects("anything"));
    }

    #[test]
    fn ids_not_yet_known_may_be_selected_by_their_prefix() {
        let volume = Targets::new(vec!["eks.volume.kafka/data-kafka-broker-0".to_string()]);
        assert!(volume.may_select_under("eks.volume.kafka/"));
        assert!(!volume.may_select_under("eks.hpa."));
        let all_eks = Targets::new(vec!["eks.*".to_string()]);
        assert!(all_eks.may_select_under("eks.volume.kafka/"));
        let tables = Targets::new(vec!["dynamodb.*".to_string()]);
        assert!(!tables.may_select_under("eks.volume.kafka/"));
    }
}
