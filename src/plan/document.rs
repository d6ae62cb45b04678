//! The plan and drift reports as versioned JSON documents: what `plan --out` saves and
//! `apply PLAN.json` reads back, and what `--output json` prints. The format is documented in
//! docs/json-output.md with a JSON Schema (docs/schema/pipectl.schema.json); `format_version`
//! changes when a reader would have to change.
//!
//! A saved plan is applied only if nothing it was made from has changed: the stack file's
//! SHA-256 and, for every resource, the digest of the live object as it was read. pipectl keeps
//! no state of its own, so this is how it knows the world is still the one the plan describes.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::targets::Targets;
use super::{Action, Change, IgnoredField, Plan, Summary};
use crate::spec::LoadedStack;

pub const FORMAT_VERSION: &str = "2";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Plan,
    Drift,
}

/// A plan: every resource the stack names, changed or not, with the steps apply will take.
/// Holds no credentials, tokens or secrets: only ids, settings and digests.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanDocument {
    #[schemars(extend("const" = "2"))]
    pub format_version: String,
    #[schemars(extend("const" = "plan"))]
    pub kind: DocumentKind,
    pub pipectl_version: String,
    pub stack: String,
    /// As given on the command line when the plan was made; `apply PLAN.json` reads it again.
    pub stack_file: String,
    pub spec_sha256: String,
    #[schemars(extend("format" = "date-time"))]
    pub created_at: String,
    /// `--target` patterns the plan was restricted to; empty for the whole stack. `apply
    /// PLAN.json` plans the same part again.
    #[serde(default)]
    pub targets: Targets,
    /// `--replace` ids the plan recreates; `apply PLAN.json` plans them the same way again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace: Vec<String>,
    /// `--take-over` ids whose owner tag the plan moves to this stack.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub take_over: Vec<String>,
    pub summary: Summary,
    pub has_changes: bool,
    /// Whether a change deletes something live: applying it needs `--allow-destroy` (a CI job
    /// asks for that approval only then).
    #[serde(default)]
    pub destructive: bool,
    pub changes: Vec<Change>,
    /// Fields `[[ignore]]` rules left alone.
    pub ignored: Vec<IgnoredField>,
    pub notes: Vec<String>,
    /// What the stack costs a month before and after the plan (absent with `--no-cost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<super::cost::PlanCost>,
}

fn now_rfc3339() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

impl PlanDocument {
    pub fn new(plan: &Plan, stack: &LoadedStack, targets: &Targets) -> Self {
        PlanDocument {
            format_version: FORMAT_VERSION.to_string(),
            kind: DocumentKind::Plan,
            pipectl_version: env!("CARGO_PKG_VERSION").to_string(),
            stack: plan.stack.clone(),
            stack_file: stack.path.display().to_string(),
            spec_sha256: stack.sha256.clone(),
            created_at: now_rfc3339(),
            targets: targets.clone(),
            replace: vec![],
            take_over: vec![],
            summary: plan.summary(),
            has_changes: plan.has_changes(),
            destructive: plan.changes.iter().any(|c| c.destructive),
            changes: plan.changes.clone(),
            ignored: plan.ignored.clone(),
            notes: plan.notes.clone(),
            cost: plan.cost.clone(),
        }
    }

    /// The plan this document shows, for the renderers (`pipectl show`). Never executed:
    /// apply runs only the plan it derives itself.
    pub fn as_plan(&self) -> Plan {
        Plan {
            stack: self.stack.clone(),
            changes: self.changes.clone(),
            errors: vec![],
            ignored: self.ignored.clone(),
            notes: self.notes.clone(),
            location: None,
            cost: self.cost.clone(),
        }
    }

    /// Refuses to write a plan over a file that is not one: `plan --out stack.toml` must not
    /// replace the stack file (or anything else) with JSON. A missing or empty file (a
    /// script's `mktemp`) or an earlier plan (or drift report) may be written.
    pub fn may_write_over(path: &Path) -> Result<()> {
        let empty = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0);
        if !path.exists() || empty {
            return Ok(());
        }
        let earlier = crate::spec::source::read_bounded(path, "plan file")
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .is_some_and(|value| {
                value.get("format_version").is_some() && value.get("kind").is_some()
            });
        if earlier {
            return Ok(());
        }
        bail!(
            "{} exists and is not a pipectl plan: `plan --out` writes only a new file or over an earlier plan, so nothing (a stack file above all) is lost; choose another name, e.g. --out plan.json",
            path.display()
        )
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write the plan to {}", path.display()))
    }

    /// Reads a saved plan, refusing other kinds and versions of document.
    pub fn read(path: &Path) -> Result<Self> {
        let text = crate::spec::source::read_bounded(path, "plan file")
            .map_err(|refused| anyhow::anyhow!("{} ({})", refused.message, refused.help))?;
        let value: serde_json::Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not JSON, so not a saved plan; a saved plan is what `pipectl plan -f STACK.toml --out plan.json` writes, and a stack file is applied with `pipectl apply -f STACK.toml`",
                path.display()
            )
        })?;
        let version = value.get("format_version").and_then(|v| v.as_str());
        if version != Some(FORMAT_VERSION) {
            bail!(
                "{} has format_version {:?}; this pipectl reads format_version \"{FORMAT_VERSION}\": make the plan again with this version",
                path.display(),
                version.unwrap_or("(none)")
            );
        }
        let document: PlanDocument = serde_json::from_value(value.clone())
            .with_context(|| format!("{} is not a pipectl plan", path.display()))?;
        if document.kind != DocumentKind::Plan {
            bail!("{} is a drift report, not a plan", path.display());
        }
        // What a policy tool reads (the typed values) must be what pipectl derives from the
        // text it compares: an edit of only those would pass a policy and not the plan.
        if serde_json::to_value(&document.changes).ok().as_ref() != value.get("changes") {
            bail!(
                "{} was edited: its changes are not what pipectl writes (a typed before/after does not match its text); make the plan again with `pipectl plan --out`",
                path.display()
            );
        }
        Ok(document)
    }

    /// The first place where this document differs from the plan pipectl derives now from the
    /// stack file and a fresh read, if any. A saved plan is data to check, not a script: apply
    /// executes only what it derives itself, and accepts the document only when it shows
    /// exactly that (the same resources in the same order, actions, destructive flags, diffs,
    /// conflicts, deferrals and steps), so an edited plan file can neither smuggle a step in
    /// nor hide one behind a harmless-looking diff.
    pub fn first_difference(&self, fresh: &Plan) -> Option<String> {
        if self.stack != fresh.stack {
            return Some(format!(
                "it is a plan of stack {:?}, the stack file is {:?}",
                self.stack, fresh.stack
            ));
        }
        if self.changes.len() != fresh.changes.len() {
            return Some(format!(
                "it lists {} resources, the stack has {}",
                self.changes.len(),
                fresh.changes.len()
            ));
        }
        self.changes
            .iter()
            .zip(&fresh.changes)
            .find_map(|(saved, now)| change_difference(saved, now))
    }

    /// Why this plan may no longer be applied, given the stack file and a fresh read; empty
    /// when it still describes the world.
    pub fn stale_reasons(&self, stack: &LoadedStack, fresh: &Plan) -> Vec<String> {
        let mut reasons = vec![];
        if stack.sha256 != self.spec_sha256 {
            reasons.push(format!(
                "the stack file {} changed since the plan was made",
                self.stack_file
            ));
        }
        for saved in &self.changes {
            match fresh.changes.iter().find(|c| c.id == saved.id) {
                None => reasons.push(format!(
                    "{}: not part of the plan of the stack file now (removed from it, or never in it)",
                    saved.id
                )),
                Some(now) if now.fingerprint != saved.fingerprint => {
                    reasons.push(live_change_reason(saved, now))
                }
                Some(_) => {}
            }
        }
        for now in &fresh.changes {
            if !self.changes.iter().any(|c| c.id == now.id) {
                reasons.push(format!("{}: new since the plan was made", now.id));
            }
        }
        reasons
    }
}

/// Why a resource's plan went stale, naming the fields whose live value moved: "memory_mib:
/// 128 when planned, 4096 now". A field without a diff matched the stack file.
fn live_change_reason(saved: &Change, now: &Change) -> String {
    let live_value = |change: &Change, field: &str| -> String {
        match change.diffs.iter().find(|d| d.field == field) {
            Some(diff) => diff.before.clone().unwrap_or_else(|| "not set".to_string()),
            None => "as in the stack file".to_string(),
        }
    };
    let mut fields: Vec<&str> = saved
        .diffs
        .iter()
        .chain(&now.diffs)
        .map(|d| d.field.as_str())
        .collect();
    fields.sort_unstable();
    fields.dedup();
    let moved: Vec<String> = fields
        .into_iter()
        .filter_map(|field| {
            let (then, current) = (live_value(saved, field), live_value(now, field));
            (then != current).then(|| format!("{field}: {then} when planned, {current} now"))
        })
        .collect();
    if moved.is_empty() {
        format!(
            "{}: the live object changed since the plan was made (in something pipectl reads but the plan shows no field of: its revision, state or another setting)",
            saved.id
        )
    } else {
        format!(
            "{}: changed live since the plan was made: {}",
            saved.id,
            moved.join("; ")
        )
    }
}

/// How one saved change differs from the change derived now, named by its first difference.
fn change_difference(saved: &Change, now: &Change) -> Option<String> {
    if saved.id != now.id {
        return Some(format!(
            "it lists {} where the stack has {}",
            saved.id, now.id
        ));
    }
    let id = &saved.id;
    let pairs: [(&str, serde_json::Value, serde_json::Value); 6] = [
        ("action", as_json(&saved.action), as_json(&now.action)),
        (
            "destructive",
            as_json(&saved.destructive),
            as_json(&now.destructive),
        ),
        ("diffs", as_json(&saved.diffs), as_json(&now.diffs)),
        (
            "conflicts",
            as_json(&saved.conflicts),
            as_json(&now.conflicts),
        ),
        (
            "deferred",
            as_json(&saved.deferred.is_some()),
            as_json(&now.deferred.is_some()),
        ),
        ("lane", as_json(&saved.lane), as_json(&now.lane)),
    ];
    for (field, was, is) in pairs {
        if was != is {
            return Some(format!("{id}: its {field} is {was}, the plan now has {is}"));
        }
    }
    if saved.steps.len() != now.steps.len() {
        return Some(format!(
            "{id}: it has {} steps, the plan now has {}",
            saved.steps.len(),
            now.steps.len()
        ));
    }
    saved
        .steps
        .iter()
        .zip(&now.steps)
        .enumerate()
        .find(|(_, (was, is))| as_json(was) != as_json(is))
        .map(|(index, (was, is))| {
            format!(
                "{id}: step {} is {:?} in the file, the plan now has {:?}",
                index + 1,
                was.description,
                is.description
            )
        })
}

/// Any part of a plan as JSON, for comparison.
fn as_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// The outcome of drift-checking one stack file.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DriftStatus {
    InSync,
    Drifted,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StackDrift {
    pub stack_file: String,
    pub stack: Option<String>,
    /// The account the stack names (`[stack] account_id`); null when it names none.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The region it was read in; null when the file could not be read.
    #[serde(default)]
    pub region: Option<String>,
    pub status: DriftStatus,
    pub error: Option<String>,
    pub summary: Option<Summary>,
    /// Only the resources that differ.
    pub changes: Vec<Change>,
}

impl StackDrift {
    pub fn checked(stack_file: &str, plan: &Plan) -> Self {
        StackDrift {
            stack_file: stack_file.to_string(),
            stack: Some(plan.stack.clone()),
            account_id: None,
            region: None,
            status: if plan.differs() {
                DriftStatus::Drifted
            } else {
                DriftStatus::InSync
            },
            error: None,
            summary: Some(plan.summary()),
            changes: plan
                .changes
                .iter()
                .filter(|c| c.action != Action::NoOp || c.unhealthy.is_some())
                .cloned()
                .collect(),
        }
    }

    /// The same, with where the stack lives (a fleet's report groups and labels by it).
    pub fn located(
        self,
        stack: Option<String>,
        account_id: Option<String>,
        region: Option<String>,
    ) -> Self {
        StackDrift {
            stack: self.stack.or(stack),
            account_id,
            region,
            ..self
        }
    }

    pub fn failed(stack_file: &str, error: String) -> Self {
        StackDrift {
            stack_file: stack_file.to_string(),
            stack: None,
            account_id: None,
            region: None,
            status: DriftStatus::Error,
            error: Some(error),
            summary: None,
            changes: vec![],
        }
    }
}

/// Drift of one or more stacks, checked together.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DriftDocument {
    #[schemars(extend("const" = "2"))]
    pub format_version: String,
    #[schemars(extend("const" = "drift"))]
    pub kind: DocumentKind,
    pub pipectl_version: String,
    #[schemars(extend("format" = "date-time"))]
    pub created_at: String,
    pub drifted: usize,
    pub errors: usize,
    pub stacks: Vec<StackDrift>,
    /// `--organization`: the organization's accounts against the stacks'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
}

/// Which active accounts of the organization no stack covers, and which stacks name an account
/// the organization does not list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Coverage {
    pub uncovered_accounts: Vec<CoverageAccount>,
    /// Stack files whose `[stack] account_id` is not an active account of the organization.
    pub stacks_outside: Vec<String>,
    /// Why the organization's accounts could not be listed (then the run fails).
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CoverageAccount {
    pub id: String,
    pub name: String,
}

impl DriftDocument {
    pub fn new(stacks: Vec<StackDrift>) -> Self {
        let count =
            |status: fn(&DriftStatus) -> bool| stacks.iter().filter(|s| status(&s.status)).count();
        DriftDocument {
            format_version: FORMAT_VERSION.to_string(),
            kind: DocumentKind::Drift,
            pipectl_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at: now_rfc3339(),
            drifted: count(|s| matches!(s, DriftStatus::Drifted)),
            errors: count(|s| matches!(s, DriftStatus::Error)),
            stacks,
            coverage: None,
        }
    }

    /// 0 all in sync, 2 some drifted, 1 some could not be checked (errors win).
    pub fn exit_code(&self) -> u8 {
        let coverage_failed = self.coverage.as_ref().is_some_and(|c| c.error.is_some());
        if self.errors > 0 || coverage_failed {
            1
        } else if self.drifted > 0 {
            2
        } else {
            0
        }
    }
}

/// The schema objects that admit no other properties.
const CLOSED_OBJECTS: &[&str] = &[
    "PlanDocument",
    "DriftDocument",
    "StackDrift",
    "Coverage",
    "CoverageAccount",
    "Summary",
    "Change",
    "FieldDiff",
    "Hazard",
    "FieldConflict",
    "IgnoredField",
    "Step",
    "ResourceCost",
    "CostComponent",
    "PlanCost",
];

/// Any document pipectl writes, for the schema.
#[derive(schemars::JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code, clippy::large_enum_variant)]
enum Document {
    Plan(PlanDocument),
    Drift(DriftDocument),
}

/// The JSON Schema (draft 2020-12) of the documents, generated from these types; committed as
/// docs/schema/pipectl.schema.json and checked against the types by a test. The documents'
/// objects are closed (`additionalProperties: false`): a field pipectl does not write fails.
///
/// The plan holds a step's `operation` as data; `operations` gives, with the same generator,
/// the typed schema of each service's operations (the registered kinds know them), and a step
/// of that service must match it.
pub fn json_schema(
    operations: impl FnOnce(&mut schemars::SchemaGenerator) -> Vec<(&'static str, schemars::Schema)>,
) -> String {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let typed = operations(&mut generator);
    let mut schema = generator.into_root_schema_for::<Document>();
    schema.insert(
        "$id".to_string(),
        "https://pipectl.dev/schema/pipectl.schema.json".into(),
    );
    schema.insert(
        "title".to_string(),
        format!("pipectl plan and drift documents, format_version {FORMAT_VERSION}").into(),
    );
    schema.insert(
        "description".to_string(),
        "What `pipectl plan --output json` and `plan --out FILE` write (kind plan), and what `pipectl drift --output json` prints (kind drift). Generated from pipectl's types; see docs/json-output.md.".into(),
    );
    // The documents' own objects are closed; a step's `operation` (a provider's call and its
    // arguments, internally tagged twice) stays open, since closing both levels of such a
    // union rejects every valid value.
    if let Some(defs) = schema.get_mut("$defs").and_then(|d| d.as_object_mut()) {
        for name in CLOSED_OBJECTS {
            if let Some(object) = defs.get_mut(*name).and_then(|d| d.as_object_mut()) {
                object.insert("additionalProperties".to_string(), false.into());
            }
        }
        let by_service: Vec<serde_json::Value> = typed
            .into_iter()
            .map(|(service, operation)| {
                serde_json::json!({
                    "if": {"properties": {"service": {"const": service}}},
                    "then": {"properties": {"operation": operation}}
                })
            })
            .collect();
        if let Some(step) = defs.get_mut("Step").and_then(|d| d.as_object_mut()) {
            step.insert("allOf".to_string(), by_service.into());
        }
    }
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}
