//! The plan as data: what pipectl observed, what the spec wants, and the changes between them.
//! Nothing here talks to AWS or prints; providers fill a plan in, renderers show it, and the
//! apply engine executes its steps.

pub mod cost;
pub mod document;
pub mod inventory;
pub mod permissions;
pub mod targets;
pub mod usage;

use serde::{Deserialize, Serialize};

/// What kind of object a change is about: the first part of its id (`dynamodb.table`). Each
/// kind's module defines its own (`dynamodb::TABLE`); the plan only carries them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceKind(pub std::borrow::Cow<'static, str>);

impl ResourceKind {
    /// A kind's prefix: two lowercase words joined by a dot.
    pub const fn named(prefix: &'static str) -> Self {
        ResourceKind(std::borrow::Cow::Borrowed(prefix))
    }

    pub fn prefix(&self) -> &str {
        &self.0
    }
}

/// A stable, human-readable id (serialized as that string): `dynamodb.table.KafkaLogData`,
/// `dynamodb.index.KafkaLogData/AnomalyScoreIndex`, `lambda.function.kafka-log-lambda`,
/// `eks.hpa.kafka/kafka-broker-hpa`, `eks.volume.kafka/data-kafka-broker-0`,
/// `sagemaker.variant.rcf-anomaly-endpoint/AllTraffic`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceId {
    pub kind: ResourceKind,
    pub name: String,
}

impl ResourceId {
    pub fn new(kind: ResourceKind, name: impl Into<String>) -> Self {
        ResourceId {
            kind,
            name: name.into(),
        }
    }
}

fn is_kind_word(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

impl std::str::FromStr for ResourceId {
    type Err = String;

    /// `SERVICE.KIND.NAME`; which kinds exist is the registry's business, not the id's.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parts = text.splitn(3, '.');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(service), Some(kind), Some(name))
                if is_kind_word(service) && is_kind_word(kind) && !name.is_empty() =>
            {
                Ok(ResourceId::new(
                    ResourceKind(std::borrow::Cow::Owned(format!("{service}.{kind}"))),
                    name,
                ))
            }
            _ => Err(format!("{text:?} is not a pipectl resource id")),
        }
    }
}

impl Serialize for ResourceId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ResourceId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for ResourceId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ResourceId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "SERVICE.KIND.NAME, e.g. lambda.function.kafka-log-lambda",
            "pattern": "^[a-z_]+\\.[a-z_]+\\..+$"
        })
    }
}

impl std::fmt::Display for ResourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.kind.prefix(), self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
    NoOp,
}

impl Action {
    /// Terraform's symbols, which users of plan/apply tools already read fluently.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::NoOp => " ",
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "will be created",
            Action::Update => "will be updated in place",
            Action::Replace => "must be replaced",
            Action::Delete => "will be destroyed",
            Action::NoOp => "is unchanged",
        }
    }
}

/// Lanes named with this prefix only limit how many of their changes run at once (e.g. broker
/// volumes); their changes are independent, so one failing does not hold back the next.
pub const SLOT_LANE_PREFIX: &str = "slot:";

/// One field that differs. `None` means absent (nothing set live, or not in the spec). The
/// values are what the text plan shows; JSON documents carry them typed as well (see
/// `FieldDiffJson`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "FieldDiffJson", from = "FieldDiffJson")]
pub struct FieldDiff {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A field diff in a JSON document: `before`/`after` typed for policy tools (OPA/conftest, jq):
/// a number as a number, true/false as a boolean, absent as null, anything else as the text;
/// and the text the plan shows beside each.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FieldDiffJson {
    pub field: String,
    /// The live value, typed; null when absent.
    pub before: serde_json::Value,
    /// The value the stack file asks for, typed; null when absent (or to be removed).
    pub after: serde_json::Value,
    /// `before` as the text plan shows it; null when absent.
    pub before_text: Option<String>,
    /// `after` as the text plan shows it; null when absent.
    pub after_text: Option<String>,
}

/// The id a misspelt one (or a misspelt `PREFIX*` pattern) most likely meant, when one is near
/// enough to be a typo of it.
pub fn nearest<'a>(given: &str, ids: &'a [String]) -> Option<&'a String> {
    let (given, prefix) = match given.strip_suffix('*') {
        Some(prefix) => (prefix, true),
        None => (given, false),
    };
    ids.iter()
        .map(|id| {
            let compared: String = if prefix {
                id.chars().take(given.chars().count()).collect()
            } else {
                id.clone()
            };
            (strsim::damerau_levenshtein(given, &compared), id)
        })
        .filter(|(distance, _)| *distance > 0 && *distance <= (given.len() / 4).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, id)| id)
}

/// A displayed value as JSON: numbers and booleans typed, other text as a string.
pub fn typed_value(text: Option<&str>) -> serde_json::Value {
    let Some(text) = text else {
        return serde_json::Value::Null;
    };
    if let Ok(integer) = text.parse::<i64>() {
        return integer.into();
    }
    if let Some(number) = text
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .and_then(serde_json::Number::from_f64)
    {
        return serde_json::Value::Number(number);
    }
    match text {
        "true" => true.into(),
        "false" => false.into(),
        _ => text.into(),
    }
}

impl schemars::JsonSchema for FieldDiff {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FieldDiff".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        FieldDiffJson::json_schema(generator)
    }
}

impl From<FieldDiff> for FieldDiffJson {
    fn from(diff: FieldDiff) -> Self {
        FieldDiffJson {
            before: typed_value(diff.before.as_deref()),
            after: typed_value(diff.after.as_deref()),
            field: diff.field,
            before_text: diff.before,
            after_text: diff.after,
        }
    }
}

impl From<FieldDiffJson> for FieldDiff {
    fn from(json: FieldDiffJson) -> Self {
        FieldDiff {
            field: json.field,
            before: json.before_text,
            after: json.after_text,
        }
    }
}

impl FieldDiff {
    pub fn new(field: &str, before: Option<String>, after: Option<String>) -> Self {
        FieldDiff {
            field: field.to_string(),
            before,
            after,
        }
    }

    /// A list field's diff element by element, as Terraform shows a set: each element only
    /// live is removed (`- field: element`), each only in the file is added (`+ field:
    /// element`); elements in both are not shown.
    pub fn elements(field: &str, before: &[String], after: &[String]) -> Vec<FieldDiff> {
        let removed = before
            .iter()
            .filter(|e| !after.contains(e))
            .map(|e| FieldDiff::new(field, Some(e.clone()), None));
        let added = after
            .iter()
            .filter(|e| !before.contains(e))
            .map(|e| FieldDiff::new(field, None, Some(e.clone())));
        removed.chain(added).collect()
    }
}

/// Something the reader of a plan should know before approving it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Hazard {
    pub message: String,
}

/// One call (or call-and-wait) the apply engine makes, in order: the backend that executes it,
/// the API calls it makes, and the backend's operation as data. The plan holds it without
/// knowing any backend; the backend that made it reads the operation back to execute it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Step {
    pub description: String,
    /// The backend that executes it, one of the kinds' services: `dynamodb`,
    /// `dynamodb_insights`, `lambda`, `sagemaker`, `autoscaler` (the HPA), `storage`, `alerts`
    /// or `kafka` (topics).
    pub service: String,
    /// The API calls apply makes for this step, in order: AWS calls as IAM names them
    /// (`lambda:UpdateFunctionConfiguration`), Kubernetes calls as `kubernetes:VERB
    /// GROUP/VERSION RESOURCE`.
    pub api_calls: Vec<String>,
    /// The backend's operation: `call` and its arguments.
    pub operation: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Change {
    pub id: ResourceId,
    pub action: Action,
    pub diffs: Vec<FieldDiff>,
    pub hazards: Vec<Hazard>,
    /// Deletes something live; apply refuses it without `--allow-destroy`.
    pub destructive: bool,
    /// Changes that share a lane run one after another, in plan order (calls on one table or
    /// one function must be serialized); different lanes run concurrently.
    pub lane: String,
    /// A lane whose changes must all succeed before this change starts (e.g. broker volumes
    /// wait for the StorageClass that allows their expansion).
    pub after_lane: Option<String>,
    /// Why this change cannot be made now (e.g. an EBS volume whose previous modification has
    /// not completed). Apply reports it as not started; a later run picks it up.
    pub deferred: Option<String>,
    /// Fields another field manager owns that this change would take from it (server-side
    /// apply); apply refuses them without `--force-conflicts`.
    #[serde(default)]
    pub conflicts: Vec<FieldConflict>,
    /// A digest of the live object as it was read (None while a plan is being built). A saved
    /// plan is refused when a fresh read gives another digest.
    #[serde(default)]
    pub fingerprint: Option<String>,
    pub steps: Vec<Step>,
    /// The live object exists but does not work, in the service's words (a Kafka mapping
    /// that cannot reach its brokers). Drift counts it; it moves by itself, so a saved plan
    /// is not stale when only it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy: Option<Unhealthy>,
    /// The stack the live object carries the name of (its `pipectl:stack` tag), when its kind
    /// reads one. Another stack's name here is a plan error unless `--take-over` names the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// What the resource bills before and after, as its kind reads it (priced by the engine
    /// into `cost`; not part of a plan document).
    #[serde(skip)]
    pub billable: Option<cost::Billable>,
    /// What the resource costs a month, before and after (`--no-cost`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<cost::ResourceCost>,
}

/// The tag pipectl puts on what it creates or takes over, naming the stack: it tells one
/// stack's objects from another's (and from objects no stack made).
pub const STACK_TAG: &str = "pipectl:stack";

/// The label that names the stack on the Kubernetes objects pipectl writes (a tag's `:` is not
/// allowed in a label key's name).
pub const STACK_LABEL: &str = "pipectl.io/stack";

/// Why a live object does not work, and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Unhealthy {
    /// What the service reports, in its words (`PROBLEM: Connection error. ...`).
    pub reason: String,
    /// What to do about it.
    pub help: String,
}

impl Change {
    /// Taking the live object over from the stack it belongs to: its `pipectl:stack` tag moves
    /// to `stack` by `step`, after the change's other steps.
    pub fn move_owner(&mut self, stack: &str, step: Step) {
        self.diffs.push(FieldDiff::new(
            "owner",
            self.owner.clone(),
            Some(stack.to_string()),
        ));
        self.steps.push(step);
        if self.action == Action::NoOp {
            self.action = Action::Update;
        }
    }

    /// A change of `id` in `lane` with nothing else yet: the base of a struct update
    /// (`Change { diffs, steps, ..Change::new(id, Action::Update, lane) }`), so a kind writes
    /// only what its change has.
    pub fn new(id: ResourceId, action: Action, lane: impl Into<String>) -> Change {
        Change {
            id,
            action,
            diffs: vec![],
            hazards: vec![],
            destructive: false,
            lane: lane.into(),
            after_lane: None,
            deferred: None,
            conflicts: vec![],
            fingerprint: None,
            steps: vec![],
            unhealthy: None,
            owner: None,
            billable: None,
            cost: None,
        }
    }
}

/// A field of a Kubernetes object that another field manager (Helm, Argo CD, Flux, kubectl)
/// owns and this change would set to another value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FieldConflict {
    pub manager: String,
    pub field: String,
}

/// A problem that makes the stack impossible to apply as written (e.g. a function that does
/// not exist). A plan with errors is never applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlanError {
    pub resource: String,
    pub message: String,
    pub help: String,
}

/// A field an `[[ignore]]` rule took out of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IgnoredField {
    pub resource: String,
    pub field: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Plan {
    pub stack: String,
    pub changes: Vec<Change>,
    pub errors: Vec<PlanError>,
    /// Fields left alone by `[[ignore]]` rules (shown in verbose output).
    #[serde(default)]
    pub ignored: Vec<IgnoredField>,
    /// Stack-wide notes (e.g. sections this version does not manage yet).
    pub notes: Vec<String>,
    /// Where the plan was read: "AWS account A, region R" (none for a plan read back from a
    /// document). A reviewer checks it before anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The monthly cost before and after, over every priced resource (`--no-cost`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<cost::PlanCost>,
}

/// The fields `[[ignore]]` rules name for one resource, recorded in `ignored` for the plan.
pub fn ignored_fields(
    spec: &crate::spec::StackSpec,
    resource_id: &str,
    ignored: &mut Vec<IgnoredField>,
) -> Vec<String> {
    spec.ignored_fields(resource_id)
        .into_iter()
        .map(|(field, reason)| {
            ignored.push(IgnoredField {
                resource: resource_id.to_string(),
                field: field.clone(),
                reason,
            });
            field
        })
        .collect()
}

/// The changes, each marked with the digest of the live object they were planned from.
pub fn stamped<T: serde::Serialize>(
    changes: impl IntoIterator<Item = Change>,
    live: &T,
) -> Vec<Change> {
    let digest = fingerprint(live);
    changes
        .into_iter()
        .map(|mut change| {
            change.fingerprint = Some(digest.clone());
            change
        })
        .collect()
}

/// A digest of a live object as pipectl read it (its JSON form): equal digests mean nothing
/// pipectl looks at has changed.
pub fn fingerprint<T: Serialize>(live: &T) -> String {
    crate::digest::sha256_hex(&serde_json::to_vec(live).unwrap_or_default())
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Summary {
    pub create: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Plan {
    /// Changes that do something (no-ops are kept only for verbose output).
    pub fn actionable(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.action != Action::NoOp)
    }

    pub fn has_changes(&self) -> bool {
        self.actionable().next().is_some()
    }

    /// Resources whose live object does not work, changed by the plan or not.
    pub fn unhealthy(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.unhealthy.is_some())
    }

    /// Whether live state is not what the file asks for: a change to make, or a resource that
    /// does not work (what `drift` and `--detailed-exitcode` report).
    pub fn differs(&self) -> bool {
        self.has_changes() || self.unhealthy().next().is_some()
    }

    pub fn destructive(&self) -> impl Iterator<Item = &Change> {
        self.actionable().filter(|c| c.destructive)
    }

    pub fn conflicting(&self) -> impl Iterator<Item = &Change> {
        self.actionable().filter(|c| !c.conflicts.is_empty())
    }

    /// Counted the way Terraform counts: a replace is one create and one destroy.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for change in self.actionable() {
            match change.action {
                Action::Create => summary.create += 1,
                Action::Update => summary.change += 1,
                Action::Replace => {
                    summary.create += 1;
                    summary.destroy += 1
                }
                Action::Delete => summary.destroy += 1,
                Action::NoOp => {}
            }
        }
        summary
    }
}

impl Plan {
    /// Errors as one message, for commands that stop on them.
    pub fn error_report(&self) -> String {
        self.errors
            .iter()
            .map(
                |PlanError {
                     resource,
                     message,
                     help,
                 }| format!("error: {resource}: {message}\n   = help: {help}"),
            )
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::FieldDiff;

    #[test]
    fn a_list_diff_names_each_element_removed_and_added() {
        let before = vec!["b-1:9092".to_string(), "b-2:9092".to_string()];
        let after = vec!["b-2:9092".to_string(), "b-3:9092".to_string()];
        let diffs = FieldDiff::elements("bootstrap_servers", &before, &after);
        let shown: Vec<(Option<&str>, Option<&str>)> = diffs
            .iter()
            .map(|d| (d.before.as_deref(), d.after.as_deref()))
            .collect();
        assert_eq!(
            shown,
            vec![(Some("b-1:9092"), None), (None, Some("b-3:9092"))]
        );
        assert!(FieldDiff::elements("x", &before, &before).is_empty());
    }

    use super::*;

    fn change(action: Action) -> Change {
        Change::new(
            ResourceId::new(ResourceKind::named("dynamodb.table"), "t"),
            action,
            "t",
        )
    }

    #[test]
    fn summary_counts_replace_as_create_and_destroy() {
        let plan = Plan {
            changes: vec![
                change(Action::Create),
                change(Action::Update),
                change(Action::Replace),
                change(Action::NoOp),
            ],
            ..Plan::default()
        };
        assert_eq!(
            plan.summary(),
            Summary {
                create: 2,
                change: 1,
                destroy: 1
            }
        );
        assert!(plan.has_changes());
    }

    #[test]
    fn only_no_ops_means_no_changes() {
        let plan = Plan {
            changes: vec![change(Action::NoOp)],
            ..Plan::default()
        };
        assert!(!plan.has_changes());
    }
}
