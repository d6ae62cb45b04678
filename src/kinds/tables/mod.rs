//! DynamoDB tables: billing mode, provisioned capacity and global secondary indexes.
//!
//! The rules this module is built around (see `rules-of-the-road.md`):
//! * one index create or delete per UpdateTable, and no UpdateTable while the table or an index
//!   is still changing: index work is staged one step at a time, each waited until ACTIVE;
//! * a switch to PROVISIONED carries throughput for every index in the same call;
//! * indexes are matched by name, and server-filled fields (sizes, counts, ARNs, warm
//!   throughput, timestamps) are never compared.

pub mod contributor_insights;
pub mod cost;
pub mod import;
pub mod limits;
pub mod permissions;
pub mod section;
mod validate;
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::kinds::kind::{KindPlan, PlanContext, TypedKind};
use crate::plan::{ignored_fields, stamped};
use crate::providers::Clients;
use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode as AwsBillingMode, CreateGlobalSecondaryIndexAction,
    DeleteGlobalSecondaryIndexAction, GlobalSecondaryIndex as AwsIndex, GlobalSecondaryIndexUpdate,
    KeySchemaElement, KeyType, Projection, ProjectionType as AwsProjectionType,
    ProvisionedThroughput, ScalarAttributeType, TableDescription, Tag,
    UpdateGlobalSecondaryIndexAction,
};
use serde::{Deserialize, Serialize};

use crate::plan::{
    Action, Change, FieldDiff, Hazard, PlanError, ResourceId, ResourceKind, Step, Unhealthy,
    STACK_TAG,
};
use crate::progress::StepProgress;
use crate::providers::wait::{self, Poll};
use crate::providers::{describe_sdk_error, Aws};
use section::{BillingMode, Capacity, DynamoDbTable};

mod diff;
mod execute;
mod read;
pub use diff::*;
pub use execute::*;
pub use read::*;

/// The kind of `dynamodb.table.NAME` resource ids.
pub const TABLE: ResourceKind = ResourceKind::named("dynamodb.table");
/// The kind of `dynamodb.index.NAME` resource ids.
pub const INDEX: ResourceKind = ResourceKind::named("dynamodb.index");

/// A key attribute: name and scalar type (`S`, `N` or `B`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Key {
    pub name: String,
    pub attribute_type: String,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.attribute_type)
    }
}

/// An index as pipectl wants it (from the spec) or finds it (from DescribeTable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IndexDefinition {
    pub name: String,
    pub partition_key: Key,
    pub sort_key: Option<Key>,
    pub projection: String,
    pub non_key_attributes: Vec<String>,
    pub capacity: Option<Capacity>,
}

impl IndexDefinition {
    /// Key schema and projection cannot change in place: a difference means replace.
    fn same_shape(&self, other: &IndexDefinition) -> bool {
        self.partition_key.name == other.partition_key.name
            && self.sort_key.as_ref().map(|k| &k.name) == other.sort_key.as_ref().map(|k| &k.name)
            && self.projection == other.projection
            && sorted(&self.non_key_attributes) == sorted(&other.non_key_attributes)
    }

    fn shape(&self) -> String {
        let mut text = format!("partition key {}", self.partition_key);
        if let Some(sort) = &self.sort_key {
            text.push_str(&format!(", sort key {sort}"));
        }
        text.push_str(&format!(", projection {}", self.projection));
        if !self.non_key_attributes.is_empty() {
            text.push_str(&format!(" [{}]", self.non_key_attributes.join(", ")));
        }
        text
    }
}

fn sorted(values: &[String]) -> Vec<String> {
    let mut values = values.to_vec();
    values.sort();
    values
}

/// A table as pipectl wants it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TableDefinition {
    pub name: String,
    pub billing_mode: BillingMode,
    pub capacity: Option<Capacity>,
    pub partition_key: Key,
    pub sort_key: Option<Key>,
    pub indexes: Vec<IndexDefinition>,
    pub tags: BTreeMap<String, String>,
    /// Which live indexes the file lets pipectl delete besides its own.
    #[serde(default)]
    pub removal: IndexRemoval,
}

fn key_from_spec(key: &crate::kinds::tables::section::KeyAttribute) -> Key {
    Key {
        name: key.name.get_ref().clone(),
        attribute_type: key.attribute_type.get_ref().as_aws().to_string(),
    }
}

impl TableDefinition {
    /// Leaves the table's capacity (`index` None) or an index's capacity alone (an `[[ignore]]`
    /// rule, e.g. when DynamoDB auto scaling owns it): the live value is kept.
    pub fn ignore_capacity(&mut self, index: Option<&str>, live: Option<&LiveTable>) {
        let Some(live) = live else { return };
        match index {
            None => self.capacity = live.capacity.or(self.capacity),
            Some(name) => {
                let live_capacity = live
                    .indexes
                    .iter()
                    .find(|i| i.definition.name == name)
                    .and_then(|i| i.definition.capacity);
                if let Some(desired) = self.indexes.iter_mut().find(|i| i.name == name) {
                    desired.capacity = live_capacity.or(desired.capacity);
                }
            }
        }
    }

    pub fn from_spec(
        table: &crate::kinds::tables::section::DynamoDbTable,
        tags: &BTreeMap<String, String>,
    ) -> Self {
        TableDefinition {
            name: table.name.get_ref().clone(),
            billing_mode: *table.billing_mode.get_ref(),
            capacity: table.capacity.as_ref().map(|c| *c.get_ref()),
            partition_key: key_from_spec(&table.partition_key),
            sort_key: table.sort_key.as_ref().map(key_from_spec),
            indexes: table
                .global_secondary_indexes
                .iter()
                .filter(|gsi| !gsi.remove)
                .filter_map(|gsi| {
                    Some(IndexDefinition {
                        name: gsi.name.get_ref().clone(),
                        partition_key: key_from_spec(gsi.partition_key.as_ref()?),
                        sort_key: gsi.sort_key.as_ref().map(key_from_spec),
                        projection: gsi.projection.get_ref().as_aws().to_string(),
                        non_key_attributes: gsi.non_key_attributes.clone(),
                        capacity: gsi.capacity.as_ref().map(|c| *c.get_ref()),
                    })
                })
                .collect(),
            tags: tags.clone(),
            removal: IndexRemoval {
                prune: table.prune,
                named: table
                    .global_secondary_indexes
                    .iter()
                    .filter(|gsi| gsi.remove)
                    .map(|gsi| gsi.name.get_ref().clone())
                    .collect(),
            },
        }
    }

    /// Whether a live index the file does not list may be deleted: the file prunes, names it
    /// for removal, or pipectl created it (the table's `pipectl:indexes` tag says so).
    fn may_delete(&self, index: &str, live: &LiveTable) -> bool {
        self.removal.prune
            || self.removal.named.iter().any(|n| n == index)
            || live.created_indexes.iter().any(|n| n == index)
    }

    /// Live indexes that are neither listed nor deletable: another owner's, left alone.
    fn unmanaged<'a>(&self, live: &'a LiveTable) -> Vec<&'a LiveIndex> {
        live.indexes
            .iter()
            .filter(|i| !self.indexes.iter().any(|d| d.name == i.definition.name))
            .filter(|i| !self.may_delete(&i.definition.name, live))
            .collect()
    }

    /// Attribute definitions for the table keys plus the given indexes, deduplicated.
    fn attribute_definitions<'a>(
        &'a self,
        indexes: impl Iterator<Item = &'a IndexDefinition>,
    ) -> Vec<Key> {
        let mut keys: Vec<Key> = vec![self.partition_key.clone()];
        keys.extend(self.sort_key.clone());
        for index in indexes {
            keys.push(index.partition_key.clone());
            keys.extend(index.sort_key.clone());
        }
        let mut seen = std::collections::HashSet::new();
        keys.retain(|k| seen.insert(k.name.clone()));
        keys
    }
}

/// The tag on a table listing the indexes pipectl created on it (comma-separated): those are
/// pipectl's to delete when they leave the file; any other index is another owner's.
pub const CREATED_INDEXES_TAG: &str = "pipectl:indexes";

/// `prune = true` and the indexes named with `remove = true`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IndexRemoval {
    pub prune: bool,
    pub named: Vec<String>,
}

/// One UpdateTable or CreateTable call; each is followed by a wait until the table settles.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum TableOperation {
    CreateTable {
        table: TableDefinition,
    },
    /// Billing mode and/or throughput of the table and its existing indexes, in one call.
    UpdateTable {
        table: String,
        billing_mode: BillingMode,
        capacity: Option<Capacity>,
        index_capacity: Vec<(String, Capacity)>,
    },
    CreateIndex {
        table: String,
        index: IndexDefinition,
        attribute_definitions: Vec<Key>,
        /// "2 of 3": which index operation of this table's plan this is.
        position: String,
    },
    DeleteIndex {
        table: String,
        index: String,
        position: String,
    },
    /// Tags the table with the stack that takes it over (`--take-over`).
    TagOwner {
        table: String,
        arn: String,
        stack: String,
    },
}

impl TableOperation {
    /// The operation as a plan step of service `dynamodb`.
    pub fn into_step(self, description: String) -> Step {
        let api_calls = self.api_calls();
        Tables::step(description, api_calls, &self)
    }

    /// The API calls apply makes for it, as IAM names them: the change, then the wait's reads.
    pub fn api_calls(&self) -> Vec<&'static str> {
        match self {
            // DynamoDB checks TagResource for the tags CreateTable carries.
            TableOperation::CreateTable { .. } => vec![
                "dynamodb:CreateTable",
                "dynamodb:TagResource",
                "dynamodb:DescribeTable",
            ],
            TableOperation::UpdateTable { .. } => {
                vec!["dynamodb:UpdateTable", "dynamodb:DescribeTable"]
            }
            // The index is recorded in the table's `pipectl:indexes` tag once it is made.
            TableOperation::CreateIndex { .. } | TableOperation::DeleteIndex { .. } => vec![
                "dynamodb:UpdateTable",
                "dynamodb:DescribeTable",
                "dynamodb:ListTagsOfResource",
                "dynamodb:TagResource",
            ],
            TableOperation::TagOwner { .. } => vec!["dynamodb:TagResource"],
        }
    }
}

/// The table's owner on its change, and the step that puts this stack's name on it
/// (`--take-over`, or adoption at the first change: `PlanContext::tags_owner`).
fn take_over(context: &PlanContext<'_>, changes: &mut [Change], live: &LiveTable) {
    let Some(change) = changes.iter_mut().find(|c| c.id.kind == TABLE) else {
        return;
    };
    change.owner = live.owner.clone();
    let stack = context.stack.name();
    if let (true, Some(arn)) = (context.tags_owner(change), &live.arn) {
        change.move_owner(
            stack,
            (TableOperation::TagOwner {
                table: live.name.clone(),
                arn: arn.clone(),
                stack: stack.to_string(),
            })
            .into_step(format!("tag {} {STACK_TAG}={stack}", live.name)),
        );
    }
}

/// DynamoDB tables and their indexes.
pub struct Tables;
pub static TABLES: Tables = Tables;

impl TypedKind for Tables {
    const SERVICE: &'static str = "dynamodb";
    const IGNORABLE: &'static [(&'static str, &'static [&'static str])] = &[
        ("dynamodb.table.", &["capacity"]),
        ("dynamodb.index.", &["capacity"]),
    ];
    const PRICE_SOURCES: &'static [crate::plan::cost::PriceSource] = cost::PRICE_SOURCES;
    type Operation = TableOperation;

    const IMPORT_FLAGS: &'static [crate::spec::write::ImportFlag] = import::FLAGS;

    fn import<'a>(
        &'a self,
        context: &'a crate::kinds::kind::ImportContext<'a>,
    ) -> BoxFuture<'a, Result<Option<crate::kinds::kind::ImportedPart>>> {
        Box::pin(import::import(context))
    }

    fn permissions(
        spec: &crate::spec::StackSpec,
        scope: &crate::plan::permissions::Scope,
    ) -> crate::plan::permissions::Permissions {
        permissions::permissions(spec, scope)
    }

    fn sections() -> Vec<crate::spec::SectionKind> {
        vec![crate::spec::SectionKind::of::<section::DynamoDbTable>()]
    }

    fn usage_metrics(spec: &crate::spec::StackSpec) -> Vec<crate::plan::usage::Metric> {
        cost::usage_metrics(spec)
    }

    fn offline_checks() -> Option<crate::spec::validate::KindCheck> {
        Some(validate::check)
    }

    fn plan<'a>(&'a self, context: &'a PlanContext<'a>) -> BoxFuture<'a, Result<KindPlan>> {
        Box::pin(plan_tables(context))
    }

    fn run<'a>(
        &'a self,
        clients: &'a Clients,
        operation: TableOperation,
        progress: &'a StepProgress,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute(&clients.aws, &operation, progress).await })
    }
}

/// The lane of a table's changes: calls on one table are serialized. Kinds whose changes must
/// follow a table's (Contributor Insights) name it as their `after_lane`.
pub fn lane_of(table: &str) -> String {
    format!("dynamodb:{table}")
}

/// The ids a table and its indexes have in a plan.
fn table_ids(table: &TableDefinition) -> Vec<String> {
    let indexes = table
        .indexes
        .iter()
        .map(|i| format!("dynamodb.index.{}/{}", table.name, i.name));
    std::iter::once(format!("dynamodb.table.{}", table.name))
        .chain(indexes)
        .collect()
}

async fn plan_tables(context: &PlanContext<'_>) -> Result<KindPlan> {
    let spec = &context.stack.spec;
    let mut out = KindPlan::default();
    let mut tables: Vec<TableDefinition> = spec
        .entries::<DynamoDbTable>()
        .iter()
        .map(|t| TableDefinition::from_spec(t, &context.tags))
        .collect();
    out.declared = tables.iter().flat_map(table_ids).collect();
    tables.retain(|t| {
        context
            .targets
            .selects_any(table_ids(t).iter().map(String::as_str))
    });
    // Futures collected first: a closure in the stream's type would tie its lifetimes.
    let reads: Vec<_> = tables
        .iter()
        .map(|t| read_table_for(context.aws, t))
        .collect();
    let live_tables = stream::iter(reads)
        .buffered(context.parallelism)
        .try_collect::<Vec<_>>()
        .await?;
    // `[[ignore]]` rules: the named fields take their live values (or are left unmanaged).
    for (desired, live) in tables.iter_mut().zip(&live_tables) {
        let table_id = format!("dynamodb.table.{}", desired.name);
        for _ in ignored_fields(spec, &table_id, &mut out.ignored) {
            desired.ignore_capacity(None, live.as_ref());
        }
        let index_names: Vec<String> = desired.indexes.iter().map(|i| i.name.clone()).collect();
        for index in index_names {
            let index_id = format!("dynamodb.index.{}/{index}", desired.name);
            for _ in ignored_fields(spec, &index_id, &mut out.ignored) {
                desired.ignore_capacity(Some(&index), live.as_ref());
            }
        }
    }
    // Read alongside the tables; awaited only now that they are read.
    let usage = context.usage().await;
    for (desired, live) in tables.iter().zip(&live_tables) {
        out.notes.extend(unmanaged_notes(desired, live.as_ref()));
        let (mut changes, errors) = plan_table(desired, live.as_ref());
        if let Some(live) = live {
            take_over(context, &mut changes, live);
        }
        let table_id = format!("dynamodb.table.{}", desired.name);
        if let Some(change) = changes.iter_mut().find(|c| c.id.to_string() == table_id) {
            let declared = spec
                .entries::<DynamoDbTable>()
                .iter()
                .find(|t| *t.name.get_ref() == desired.name)
                .and_then(|t| t.usage.as_ref().map(|u| *u.get_ref()));
            change.billable = Some(cost::table_billable(
                desired,
                live.as_ref(),
                usage.as_deref(),
                declared.as_ref(),
            ));
        }
        out.changes.extend(stamped(changes, live));
        out.errors.extend(errors);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, t: &str) -> Key {
        Key {
            name: name.into(),
            attribute_type: t.into(),
        }
    }

    fn index(name: &str, attr: &str, capacity: Option<Capacity>) -> IndexDefinition {
        IndexDefinition {
            name: name.into(),
            partition_key: key(attr, "N"),
            sort_key: None,
            projection: "ALL".into(),
            non_key_attributes: vec![],
            capacity,
        }
    }

    fn desired(mode: BillingMode, indexes: Vec<IndexDefinition>) -> TableDefinition {
        TableDefinition {
            name: "logs".into(),
            billing_mode: mode,
            capacity: (mode == BillingMode::Provisioned).then_some(Capacity { read: 5, write: 5 }),
            partition_key: key("id", "S"),
            sort_key: None,
            indexes,
            tags: BTreeMap::new(),
            removal: IndexRemoval::default(),
        }
    }

    /// A live table whose indexes pipectl created (its tag lists them all).
    fn live(mode: BillingMode, indexes: Vec<IndexDefinition>) -> LiveTable {
        let created_indexes = indexes.iter().map(|i| i.name.clone()).collect();
        LiveTable {
            arn: Some("arn:aws:dynamodb:us-east-1:123456789012:table/logs".into()),
            created_indexes,
            archival_reason: None,
            storage: None,
            owner: None,
            name: "logs".into(),
            status: "ACTIVE".into(),
            billing_mode: mode,
            capacity: (mode == BillingMode::Provisioned).then_some(Capacity { read: 5, write: 5 }),
            partition_key: Some(key("id", "S")),
            sort_key: None,
            indexes: indexes
                .into_iter()
                .map(|definition| LiveIndex {
                    definition,
                    status: "ACTIVE".into(),
                    backfilling: false,
                })
                .collect(),
            last_switch_to_on_demand: None,
        }
    }

    fn actions(changes: &[Change]) -> Vec<(String, Action)> {
        changes
            .iter()
            .map(|c| (c.id.to_string(), c.action))
            .collect()
    }

    #[test]
    fn matching_table_is_a_no_op() {
        let want = desired(
            BillingMode::PayPerRequest,
            vec![index("byScore", "score", None)],
        );
        let have = live(
            BillingMode::PayPerRequest,
            vec![index("byScore", "score", None)],
        );
        let (changes, errors) = plan_table(&want, Some(&have));
        assert!(errors.is_empty());
        assert_eq!(
            actions(&changes),
            vec![("dynamodb.table.logs".into(), Action::NoOp)]
        );
    }

    #[test]
    fn two_new_indexes_are_two_changes_after_the_billing_switch() {
        let want = desired(
            BillingMode::PayPerRequest,
            vec![
                index("byScore", "score", None),
                index("byHost", "host", None),
            ],
        );
        let have = live(BillingMode::Provisioned, vec![]);
        let (changes, _) = plan_table(&want, Some(&have));
        assert_eq!(
            actions(&changes),
            vec![
                ("dynamodb.table.logs".into(), Action::Update),
                ("dynamodb.index.logs/byScore".into(), Action::Create),
                ("dynamodb.index.logs/byHost".into(), Action::Create),
            ]
        );
        assert!(changes[2].steps[0].description.contains("2 of 2"));
    }

    #[test]
    fn switch_to_provisioned_carries_every_index_capacity() {
        let cap = Capacity { read: 3, write: 4 };
        let want = desired(
            BillingMode::Provisioned,
            vec![index("byScore", "score", Some(cap))],
        );
        let have = live(
            BillingMode::PayPerRequest,
            vec![index("byScore", "score", None)],
        );
        let (changes, _) = plan_table(&want, Some(&have));
        let TableOperation::UpdateTable { index_capacity, .. } =
            &crate::providers::operation_of::<TableOperation>(&changes[0].steps[0])
                .expect("decodes")
        else {
            panic!("expected an UpdateTable step, got {:?}", changes[0].steps);
        };
        assert_eq!(index_capacity, &vec![("byScore".to_string(), cap)]);
    }

    #[test]
    fn removed_index_is_a_destructive_delete_first() {
        let want = desired(BillingMode::PayPerRequest, vec![]);
        let have = live(
            BillingMode::PayPerRequest,
            vec![index("byScore", "score", None)],
        );
        let (changes, _) = plan_table(&want, Some(&have));
        assert_eq!(changes[0].action, Action::Delete);
        assert!(changes[0].destructive);
    }

    #[test]
    fn another_owners_index_is_left_alone_unless_the_file_prunes_or_names_it() {
        let mut want = desired(BillingMode::PayPerRequest, vec![]);
        let mut have = live(
            BillingMode::PayPerRequest,
            vec![index("byScore", "score", None)],
        );
        have.created_indexes.clear();
        let (changes, _) = plan_table(&want, Some(&have));
        assert!(
            changes.iter().all(|c| c.action == Action::NoOp),
            "{changes:?}"
        );
        let notes = unmanaged_notes(&want, Some(&have));
        assert!(
            notes[0].contains("dynamodb.index.logs/byScore: unmanaged"),
            "{notes:?}"
        );

        want.removal.named = vec!["byScore".into()];
        let (changes, _) = plan_table(&want, Some(&have));
        assert_eq!(changes[0].action, Action::Delete);
        assert!(unmanaged_notes(&want, Some(&have)).is_empty());

        want.removal = IndexRemoval {
            prune: true,
            named: vec![],
        };
        let (changes, _) = plan_table(&want, Some(&have));
        assert_eq!(changes[0].action, Action::Delete);
    }

    #[test]
    fn key_schema_change_is_a_plan_error() {
        let mut want = desired(BillingMode::PayPerRequest, vec![]);
        want.partition_key = key("logId", "S");
        let have = live(BillingMode::PayPerRequest, vec![]);
        let (changes, errors) = plan_table(&want, Some(&have));
        assert!(changes.is_empty());
        assert_eq!(errors.len(), 1);
    }
}
