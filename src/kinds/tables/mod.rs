//! DynamoDB tables: billing mode, provisioned capacity and global secondary indexes.
//!
//! The rules this module is built around (see `rules-of-the-road.md`):
//! * one index create or delete per UpdateTable, and no UpdateTable while the table or an index
//!   is still changing: index work is staged one step at a time, each waited until ACTIVE;
//! * a switch to PROVISIONED carries throughput for every index in the same call;
//! * indexes are matched by name, and server-filled fields (sizes, counts, ARNs, warm
//!   throughput, timestamps) are never compared.

pub mod contributor_insights;
pub mod import;
pub mod limits;
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

use crate::plan::{Action, Change, FieldDiff, Hazard, PlanError, ResourceId, ResourceKind, Step};
use crate::progress::StepProgress;
use crate::providers::wait::{self, Poll};
use crate::providers::{describe_sdk_error, Aws};
use section::{BillingMode, Capacity, DynamoDbTable};

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

/// What DescribeTable reported, minus everything AWS fills in by itself.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LiveTable {
    pub name: String,
    pub status: String,
    pub billing_mode: BillingMode,
    pub capacity: Option<Capacity>,
    pub partition_key: Option<Key>,
    pub sort_key: Option<Key>,
    pub indexes: Vec<LiveIndex>,
    /// Seconds since the epoch of the last switch to PAY_PER_REQUEST, if AWS reports one.
    pub last_switch_to_on_demand: Option<i64>,
    #[serde(default)]
    pub arn: Option<String>,
    /// The indexes pipectl created (its `pipectl:indexes` tag); read only when the table has
    /// an index the file does not list.
    #[serde(default)]
    pub created_indexes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LiveIndex {
    pub definition: IndexDefinition,
    pub status: String,
    pub backfilling: bool,
}

impl LiveTable {
    /// Settled: the table and every index ACTIVE, nothing backfilling.
    fn settled(&self) -> Option<String> {
        if self.status != "ACTIVE" {
            return Some(format!("table {}", self.status));
        }
        self.indexes.iter().find_map(|index| {
            if index.status != "ACTIVE" || index.backfilling {
                Some(format!(
                    "index {} {}{}",
                    index.definition.name,
                    index.status,
                    if index.backfilling {
                        ", backfilling"
                    } else {
                        ""
                    }
                ))
            } else {
                None
            }
        })
    }
}

fn live_from_description(table: &TableDescription) -> LiveTable {
    let types: BTreeMap<&str, &str> = table
        .attribute_definitions()
        .iter()
        .map(|a| (a.attribute_name(), a.attribute_type().as_str()))
        .collect();
    let key = |schema: &[KeySchemaElement], kind: KeyType| {
        schema.iter().find(|k| *k.key_type() == kind).map(|k| Key {
            name: k.attribute_name().to_string(),
            attribute_type: types.get(k.attribute_name()).unwrap_or(&"?").to_string(),
        })
    };
    let billing_mode = match table.billing_mode_summary().and_then(|s| s.billing_mode()) {
        Some(AwsBillingMode::PayPerRequest) => BillingMode::PayPerRequest,
        _ => BillingMode::Provisioned,
    };
    let capacity_of = |read: Option<i64>, write: Option<i64>| match (billing_mode, read, write) {
        (BillingMode::Provisioned, Some(read), Some(write)) => Some(Capacity { read, write }),
        _ => None,
    };
    let indexes = table
        .global_secondary_indexes()
        .iter()
        .map(|gsi| {
            let schema = gsi.key_schema();
            let projection = gsi.projection();
            LiveIndex {
                definition: IndexDefinition {
                    name: gsi.index_name().unwrap_or_default().to_string(),
                    partition_key: key(schema, KeyType::Hash).unwrap_or(Key {
                        name: String::new(),
                        attribute_type: "?".into(),
                    }),
                    sort_key: key(schema, KeyType::Range),
                    projection: projection
                        .and_then(|p| p.projection_type())
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_else(|| "ALL".into()),
                    non_key_attributes: projection
                        .map(|p| p.non_key_attributes().to_vec())
                        .unwrap_or_default(),
                    capacity: gsi.provisioned_throughput().and_then(|t| {
                        capacity_of(t.read_capacity_units(), t.write_capacity_units())
                    }),
                },
                status: gsi
                    .index_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "ACTIVE".into()),
                backfilling: gsi.backfilling().unwrap_or(false),
            }
        })
        .collect();
    LiveTable {
        name: table.table_name().unwrap_or_default().to_string(),
        status: table
            .table_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "ACTIVE".into()),
        billing_mode,
        capacity: table
            .provisioned_throughput()
            .and_then(|t| capacity_of(t.read_capacity_units(), t.write_capacity_units())),
        partition_key: key(table.key_schema(), KeyType::Hash),
        sort_key: key(table.key_schema(), KeyType::Range),
        indexes,
        last_switch_to_on_demand: table
            .billing_mode_summary()
            .and_then(|s| s.last_update_to_pay_per_request_date_time())
            .map(|t| t.secs()),
        arn: table.table_arn().map(str::to_string),
        created_indexes: vec![],
    }
}

/// Reads one table for a plan: DescribeTable, and its tags only when it has an index the file
/// does not list (one more call, needed to tell pipectl's indexes from another owner's).
pub async fn read_table_for(aws: &Aws, desired: &TableDefinition) -> Result<Option<LiveTable>> {
    let Some(mut live) = read_table(aws, &desired.name).await? else {
        return Ok(None);
    };
    let unlisted = live
        .indexes
        .iter()
        .any(|i| !desired.indexes.iter().any(|d| d.name == i.definition.name));
    if unlisted && !desired.removal.prune {
        if let Some(arn) = &live.arn {
            live.created_indexes = created_indexes(aws, arn).await?;
        }
    }
    Ok(Some(live))
}

/// A table's tags (ListTagsOfResource).
pub async fn read_tags(aws: &Aws, arn: &str) -> Result<BTreeMap<String, String>> {
    let output = aws
        .dynamodb
        .list_tags_of_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "ListTagsOfResource {arn} failed: {}",
                describe_sdk_error(&e)
            )
        })?;
    Ok(output
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

/// The names in the table's `pipectl:indexes` tag.
async fn created_indexes(aws: &Aws, arn: &str) -> Result<Vec<String>> {
    Ok(read_tags(aws, arn)
        .await?
        .get(CREATED_INDEXES_TAG)
        .map(|names| {
            names
                .split(',')
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default())
}

/// Adds (or removes) an index in the table's `pipectl:indexes` tag, after pipectl created (or
/// deleted) it. Two calls, only when an index is created or deleted.
async fn record_created_index(aws: &Aws, table: &str, index: &str, created: bool) -> Result<()> {
    let arn = read_table(aws, table)
        .await?
        .and_then(|t| t.arn)
        .ok_or_else(|| anyhow!("DescribeTable {table} gave no ARN to tag"))?;
    let mut names = created_indexes(aws, &arn).await?;
    names.retain(|n| n != index);
    if created {
        names.push(index.to_string());
    }
    names.sort();
    aws.dynamodb
        .tag_resource()
        .resource_arn(&arn)
        .tags(
            Tag::builder()
                .key(CREATED_INDEXES_TAG)
                .value(names.join(","))
                .build()?,
        )
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "TagResource {table} ({CREATED_INDEXES_TAG}) failed: {}",
                describe_sdk_error(&e)
            )
        })?;
    Ok(())
}

/// Reads one table; `None` when it does not exist.
pub async fn read_table(aws: &Aws, name: &str) -> Result<Option<LiveTable>> {
    match aws.dynamodb.describe_table().table_name(name).send().await {
        Ok(output) => Ok(output.table().map(live_from_description)),
        Err(err) if err.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(err) => Err(anyhow!(
            "DescribeTable {name} failed: {}",
            describe_sdk_error(&err)
        )),
    }
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
}

impl TableOperation {
    /// The operation as a plan step of service `dynamodb`.
    pub fn into_step(self, description: String) -> Step {
        let api_calls = self.api_calls();
        Tables::step(description, api_calls, &self)
    }

    /// The API calls apply makes for it, as IAM names them: the change, then the wait's reads.
    pub fn api_calls(&self) -> Vec<&'static str> {
        let call = match self {
            TableOperation::CreateTable { .. } => "dynamodb:CreateTable",
            TableOperation::UpdateTable { .. }
            | TableOperation::CreateIndex { .. }
            | TableOperation::DeleteIndex { .. } => "dynamodb:UpdateTable",
        };
        vec![call, "dynamodb:DescribeTable"]
    }
}

fn fmt_capacity(capacity: Option<Capacity>) -> Option<String> {
    capacity.map(|c| format!("read {} / write {}", c.read, c.write))
}

/// Turns one desired table and what is live into changes, in the order they must run:
/// index deletions, then the table's billing/capacity update, then index creations.
/// Notes for the plan: live indexes the file does not list and pipectl did not create, which
/// are left alone.
pub fn unmanaged_notes(desired: &TableDefinition, live: Option<&LiveTable>) -> Vec<String> {
    let Some(live) = live else {
        return vec![];
    };
    desired
        .unmanaged(live)
        .into_iter()
        .map(|index| {
            format!(
                "dynamodb.index.{}/{}: unmanaged (live, not in the stack file, not created by pipectl): left alone; to delete it, add prune = true to the table or list it with remove = true",
                desired.name, index.definition.name
            )
        })
        .collect()
}

/// A table's changes: its throughput and billing mode in place, then its index deletions and
/// creations staged one per step (DynamoDB runs one online index operation at a time), all in
/// the table's lane. A key schema that differs is an error: DynamoDB cannot change it.
pub fn plan_table(
    desired: &TableDefinition,
    live: Option<&LiveTable>,
) -> (Vec<Change>, Vec<PlanError>) {
    let lane = lane_of(&desired.name);
    let table_id = ResourceId::new(TABLE, &desired.name);
    let Some(live) = live else {
        return (vec![plan_create(desired, table_id, lane)], vec![]);
    };
    if let Some(error) = key_schema_error(desired, live, &table_id) {
        return (vec![], vec![error]);
    }
    let indexes = IndexWork::between(desired, live);
    let mut positions = indexes.positions();
    let mut changes = plan_index_deletions(desired, &indexes, &lane, &mut positions);
    changes.push(plan_throughput(desired, live, table_id, &lane));
    changes.extend(plan_index_creations(
        desired,
        live,
        &indexes,
        &lane,
        &mut positions,
    ));
    (changes, vec![])
}

/// The error for a live table whose keys differ from the spec's, if they do.
fn key_schema_error(
    desired: &TableDefinition,
    live: &LiveTable,
    table_id: &ResourceId,
) -> Option<PlanError> {
    let key_mismatch = |want: Option<&Key>, have: Option<&Key>| match (want, have) {
        (Some(w), Some(h)) => {
            w.name != h.name || (h.attribute_type != "?" && w.attribute_type != h.attribute_type)
        }
        (None, None) => false,
        _ => true,
    };
    let differs = key_mismatch(Some(&desired.partition_key), live.partition_key.as_ref())
        || key_mismatch(desired.sort_key.as_ref(), live.sort_key.as_ref());
    let show = |k: Option<&Key>| k.map(|k| k.to_string()).unwrap_or_else(|| "none".into());
    differs.then(|| PlanError {
        resource: table_id.to_string(),
        message: format!(
            "the live table's keys (partition {}, sort {}) differ from the spec (partition {}, sort {})",
            show(live.partition_key.as_ref()),
            show(live.sort_key.as_ref()),
            show(Some(&desired.partition_key)),
            show(desired.sort_key.as_ref())
        ),
        help: "DynamoDB cannot change a table's key schema, and pipectl does not recreate tables that hold data: \
               make the spec's keys match the live table, or migrate to a new table name"
            .to_string(),
    })
}

/// The index operations a table needs: live indexes to delete, indexes whose shape changed
/// (deleted, then created again) and new ones.
struct IndexWork<'a> {
    deletions: Vec<&'a LiveIndex>,
    replacements: Vec<&'a IndexDefinition>,
    creations: Vec<&'a IndexDefinition>,
}

impl<'a> IndexWork<'a> {
    fn between(desired: &'a TableDefinition, live: &'a LiveTable) -> Self {
        let live_index = |name: &str| live.indexes.iter().find(|i| i.definition.name == name);
        let wanted = |name: &str| desired.indexes.iter().find(|i| i.name == name);
        IndexWork {
            deletions: live
                .indexes
                .iter()
                .filter(|i| wanted(&i.definition.name).is_none())
                .filter(|i| desired.may_delete(&i.definition.name, live))
                .collect(),
            replacements: desired
                .indexes
                .iter()
                .filter(|i| live_index(&i.name).is_some_and(|l| !l.definition.same_shape(i)))
                .collect(),
            creations: desired
                .indexes
                .iter()
                .filter(|i| live_index(&i.name).is_none())
                .collect(),
        }
    }

    /// "1 of N", "2 of N", ...: each online index operation's place in the sequence.
    fn positions(&self) -> impl FnMut() -> String {
        let total = self.deletions.len() + 2 * self.replacements.len() + self.creations.len();
        let mut numbered = 0;
        move || {
            numbered += 1;
            format!("{numbered} of {total}")
        }
    }
}

fn plan_index_deletions(
    desired: &TableDefinition,
    indexes: &IndexWork,
    lane: &str,
    next_position: &mut impl FnMut() -> String,
) -> Vec<Change> {
    indexes
        .deletions
        .iter()
        .map(|index| {
            let name = &index.definition.name;
            let id = ResourceId::new(INDEX, format!("{}/{name}", desired.name));
            Change {
                diffs: vec![FieldDiff::new("index", Some(index.definition.shape()), None)],
                hazards: vec![Hazard {
                    message: format!(
                        "deleting index {name} removes it for every query that uses it; recreating it means a full backfill"
                    ),
                }],
                destructive: true,
                steps: vec![delete_index_step(&desired.name, name, next_position())],
                ..Change::new(id, Action::Delete, lane)
            }
        })
        .collect()
}

/// Billing mode and throughput of the table and of every index that stays: one UpdateTable, or
/// a no-op change when nothing differs.
fn plan_throughput(
    desired: &TableDefinition,
    live: &LiveTable,
    table_id: ResourceId,
    lane: &str,
) -> Change {
    let live_index = |name: &str| live.indexes.iter().find(|i| i.definition.name == name);
    let mut diffs = vec![];
    if desired.billing_mode != live.billing_mode {
        diffs.push(FieldDiff::new(
            "billing_mode",
            Some(live.billing_mode.as_aws().into()),
            Some(desired.billing_mode.as_aws().into()),
        ));
    }
    let mut index_capacity = vec![];
    // UpdateTable is not idempotent: throughput equal to the current value is a
    // ValidationException, so the table's throughput is sent only when it differs or when
    // the switch to PROVISIONED requires it.
    let switching_to_provisioned = live.billing_mode != BillingMode::Provisioned;
    let mut table_capacity = None;
    if desired.billing_mode == BillingMode::Provisioned {
        if desired.capacity != live.capacity || switching_to_provisioned {
            table_capacity = desired.capacity;
        }
        if desired.capacity != live.capacity {
            diffs.push(FieldDiff::new(
                "capacity",
                fmt_capacity(live.capacity),
                fmt_capacity(desired.capacity),
            ));
        }
        for index in desired
            .indexes
            .iter()
            .filter(|i| live_index(&i.name).is_some())
        {
            let Some(want) = index.capacity else { continue };
            let have = live_index(&index.name).and_then(|l| l.definition.capacity);
            if have != Some(want) || switching_to_provisioned {
                if have != Some(want) {
                    diffs.push(FieldDiff::new(
                        &format!("index.{}.capacity", index.name),
                        fmt_capacity(have),
                        fmt_capacity(Some(want)),
                    ));
                }
                index_capacity.push((index.name.clone(), want));
            }
        }
    }
    if diffs.is_empty() {
        return Change::new(table_id, Action::NoOp, lane);
    }
    let mut hazards = capacity_quota_hazards(desired);
    if desired.billing_mode == BillingMode::PayPerRequest
        && live.billing_mode == BillingMode::Provisioned
    {
        hazards.extend(on_demand_switch_hazard(live.last_switch_to_on_demand));
    }
    Change {
        diffs,
        hazards,
        steps: vec![(TableOperation::UpdateTable {
            table: desired.name.clone(),
            billing_mode: desired.billing_mode,
            capacity: table_capacity,
            index_capacity,
        })
        .into_step(format!(
            "update billing mode and capacity of {}",
            desired.name
        ))],
        ..Change::new(table_id, Action::Update, lane)
    }
}

/// New indexes, and indexes replaced (deleted, then created), in the spec's order: each create
/// carries the attribute definitions of every index alive at that point.
fn plan_index_creations(
    desired: &TableDefinition,
    live: &LiveTable,
    indexes: &IndexWork,
    lane: &str,
    next_position: &mut impl FnMut() -> String,
) -> Vec<Change> {
    let live_index = |name: &str| live.indexes.iter().find(|i| i.definition.name == name);
    // Index definitions that stay alive after this plan, for AttributeDefinitions.
    let surviving: Vec<&IndexDefinition> = desired
        .indexes
        .iter()
        .filter(|i| live_index(&i.name).is_some_and(|l| l.definition.same_shape(i)))
        .collect();
    let mut created_so_far: Vec<&IndexDefinition> = vec![];
    let mut changes = vec![];
    for index in desired.indexes.iter() {
        let replacing = indexes.replacements.iter().any(|r| r.name == index.name);
        let creating = indexes.creations.iter().any(|c| c.name == index.name);
        if !replacing && !creating {
            continue;
        }
        let id = ResourceId::new(INDEX, format!("{}/{}", desired.name, index.name));
        let mut steps = vec![];
        let mut diffs = vec![];
        let mut hazards = vec![Hazard {
            message: format!(
                "index {} backfills from the whole table before it is ACTIVE: minutes to hours on large tables",
                index.name
            ),
        }];
        if replacing {
            let old = live_index(&index.name).map(|l| l.definition.shape());
            diffs.push(FieldDiff::new("index", old, Some(index.shape())));
            hazards.push(Hazard {
                message: format!(
                    "key schema or projection of index {} cannot change in place: it is deleted and created again, and queries on it fail in between",
                    index.name
                ),
            });
            steps.push(delete_index_step(
                &desired.name,
                &index.name,
                next_position(),
            ));
        } else {
            diffs.push(FieldDiff::new("index", None, Some(index.shape())));
        }
        if desired.billing_mode == BillingMode::Provisioned {
            diffs.push(FieldDiff::new(
                "capacity",
                None,
                fmt_capacity(index.capacity),
            ));
        }
        let attributes = desired.attribute_definitions(
            surviving
                .iter()
                .copied()
                .chain(created_so_far.iter().copied())
                .chain(std::iter::once(index)),
        );
        let position = next_position();
        steps.push(
            (TableOperation::CreateIndex {
                table: desired.name.clone(),
                index: IndexDefinition {
                    capacity: if desired.billing_mode == BillingMode::Provisioned {
                        index.capacity
                    } else {
                        None
                    },
                    ..index.clone()
                },
                attribute_definitions: attributes,
                position: position.clone(),
            })
            .into_step(format!("create index {} ({position})", index.name)),
        );
        created_so_far.push(index);
        let action = if replacing {
            Action::Replace
        } else {
            Action::Create
        };
        changes.push(Change {
            diffs,
            hazards,
            destructive: replacing,
            steps,
            ..Change::new(id, action, lane)
        });
    }
    changes
}

/// AWS allows a few switches to on-demand per rolling 24 h (to provisioned at any time).
/// DescribeTable reports only the last switch, so pipectl cannot count them: a switch within
/// the last day is worth a warning, not a refusal.
fn on_demand_switch_hazard(last_switch: Option<i64>) -> Option<Hazard> {
    let hours = (now_epoch_seconds() - last_switch?) as f64 / 3600.0;
    (hours < 24.0).then(|| Hazard {
        message: format!(
            "this table last switched to PAY_PER_REQUEST {hours:.1} h ago; AWS allows {} switches to on-demand per rolling 24 h (earlier ones are not reported) and refuses more with LimitExceededException",
            limits::DYNAMODB_SWITCHES_TO_ON_DEMAND_PER_DAY
        ),
    })
}

/// Capacity above DynamoDB's default per-table quota: AWS refuses it unless the account's
/// quota was raised.
fn capacity_quota_hazards(desired: &TableDefinition) -> Vec<Hazard> {
    let quota = limits::DYNAMODB_DEFAULT_TABLE_CAPACITY_QUOTA;
    let over = |c: &Capacity| c.read > quota || c.write > quota;
    let table = desired
        .capacity
        .iter()
        .filter(|c| over(c))
        .map(|_| "the table".to_string());
    let indexes = desired
        .indexes
        .iter()
        .filter(|i| i.capacity.as_ref().is_some_and(over))
        .map(|i| format!("index {}", i.name));
    table
        .chain(indexes)
        .map(|what| Hazard {
            message: format!(
                "{what} asks for more than {quota} read or write capacity units, DynamoDB's default per-table quota: AWS refuses it unless this account's quota was raised (Service Quotas)"
            ),
        })
        .collect()
}

fn delete_index_step(table: &str, index: &str, position: String) -> Step {
    (TableOperation::DeleteIndex {
        table: table.to_string(),
        index: index.to_string(),
        position: position.clone(),
    })
    .into_step(format!("delete index {index} ({position})"))
}

fn plan_create(desired: &TableDefinition, id: ResourceId, lane: String) -> Change {
    let mut diffs = vec![
        FieldDiff::new(
            "billing_mode",
            None,
            Some(desired.billing_mode.as_aws().into()),
        ),
        FieldDiff::new(
            "partition_key",
            None,
            Some(desired.partition_key.to_string()),
        ),
    ];
    if let Some(sort) = &desired.sort_key {
        diffs.push(FieldDiff::new("sort_key", None, Some(sort.to_string())));
    }
    if desired.billing_mode == BillingMode::Provisioned {
        diffs.push(FieldDiff::new(
            "capacity",
            None,
            fmt_capacity(desired.capacity),
        ));
    }
    for index in &desired.indexes {
        diffs.push(FieldDiff::new(
            &format!("index.{}", index.name),
            None,
            Some(index.shape()),
        ));
        if desired.billing_mode == BillingMode::Provisioned {
            diffs.push(FieldDiff::new(
                &format!("index.{}.capacity", index.name),
                None,
                fmt_capacity(index.capacity),
            ));
        }
    }
    if !desired.tags.is_empty() {
        let tags: Vec<String> = desired
            .tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        diffs.push(FieldDiff::new("tags", None, Some(tags.join(", "))));
    }
    Change {
        diffs,
        hazards: capacity_quota_hazards(desired),
        steps: vec![(TableOperation::CreateTable {
            table: desired.clone(),
        })
        .into_step(format!("create table {}", desired.name))],
        ..Change::new(id, Action::Create, lane)
    }
}

fn now_epoch_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------- apply

fn throughput(capacity: Capacity) -> Result<ProvisionedThroughput> {
    Ok(ProvisionedThroughput::builder()
        .read_capacity_units(capacity.read)
        .write_capacity_units(capacity.write)
        .build()?)
}

fn key_schema(partition: &Key, sort: Option<&Key>) -> Result<Vec<KeySchemaElement>> {
    let mut schema = vec![KeySchemaElement::builder()
        .attribute_name(&partition.name)
        .key_type(KeyType::Hash)
        .build()?];
    if let Some(sort) = sort {
        schema.push(
            KeySchemaElement::builder()
                .attribute_name(&sort.name)
                .key_type(KeyType::Range)
                .build()?,
        );
    }
    Ok(schema)
}

fn attribute_definitions(keys: &[Key]) -> Result<Vec<AttributeDefinition>> {
    keys.iter()
        .map(|k| {
            Ok(AttributeDefinition::builder()
                .attribute_name(&k.name)
                .attribute_type(ScalarAttributeType::from(k.attribute_type.as_str()))
                .build()?)
        })
        .collect()
}

fn projection(index: &IndexDefinition) -> Projection {
    let mut projection =
        Projection::builder().projection_type(AwsProjectionType::from(index.projection.as_str()));
    for attribute in &index.non_key_attributes {
        projection = projection.non_key_attributes(attribute);
    }
    projection.build()
}

fn aws_billing_mode(mode: BillingMode) -> AwsBillingMode {
    match mode {
        BillingMode::PayPerRequest => AwsBillingMode::PayPerRequest,
        BillingMode::Provisioned => AwsBillingMode::Provisioned,
    }
}

/// Executes one of the kind's operations: one function per operation.
pub async fn execute(aws: &Aws, operation: &TableOperation, progress: &StepProgress) -> Result<()> {
    match operation {
        TableOperation::CreateTable { table } => create_table(aws, table, progress).await,
        TableOperation::UpdateTable {
            table,
            billing_mode,
            capacity,
            index_capacity,
        } => {
            let wanted = Throughput {
                billing_mode: *billing_mode,
                capacity: *capacity,
                index_capacity,
            };
            update_throughput(aws, table, &wanted, progress).await
        }
        TableOperation::CreateIndex {
            table,
            index,
            attribute_definitions,
            position,
        } => create_index(aws, table, index, attribute_definitions, position, progress).await,
        TableOperation::DeleteIndex {
            table,
            index,
            position,
        } => delete_index(aws, table, index, position, progress).await,
    }
}

/// What an UpdateTable sets: the billing mode, and throughput only where it must be sent.
#[derive(Clone, Copy)]
struct Throughput<'a> {
    billing_mode: BillingMode,
    capacity: Option<Capacity>,
    index_capacity: &'a [(String, Capacity)],
}

/// UpdateTable with the billing mode and throughput; a lost reply is recovered by reading the
/// table (the retry would be refused as "will not change").
async fn update_throughput(
    aws: &Aws,
    table: &str,
    wanted: &Throughput<'_>,
    progress: &StepProgress,
) -> Result<()> {
    let Throughput {
        billing_mode,
        capacity,
        index_capacity,
    } = *wanted;
    wait_until_settled(aws, table, None, progress).await?;
    let mut request = aws
        .dynamodb
        .update_table()
        .table_name(table)
        .billing_mode(aws_billing_mode(billing_mode));
    if let Some(capacity) = capacity {
        request = request.provisioned_throughput(throughput(capacity)?);
    }
    for (index, capacity) in index_capacity {
        request = request.global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .update(
                    UpdateGlobalSecondaryIndexAction::builder()
                        .index_name(index)
                        .provisioned_throughput(throughput(*capacity)?)
                        .build()?,
                )
                .build(),
        );
    }
    progress.status(&format!(
        "UpdateTable {table}: billing mode {}",
        billing_mode.as_aws()
    ));
    if let Err(e) = request.send().await {
        let error = anyhow!("UpdateTable {table} failed: {}", describe_sdk_error(&e));
        // A retry after a lost reply finds the change made ("will not change",
        // "table is being updated"): look before failing.
        let made = |live: &LiveTable| {
            live.billing_mode == billing_mode
                && capacity.is_none_or(|c| live.capacity == Some(c))
                && index_capacity.iter().all(|(name, c)| {
                    live.indexes
                        .iter()
                        .any(|i| i.definition.name == *name && i.definition.capacity == Some(*c))
                })
        };
        recover_or(aws, table, progress, error, made).await?;
    }
    wait_until_settled(aws, table, None, progress).await
}

/// UpdateTable creating one global secondary index, then the wait until it is ACTIVE.
async fn create_index(
    aws: &Aws,
    table: &str,
    index: &IndexDefinition,
    keys: &[Key],
    position: &str,
    progress: &StepProgress,
) -> Result<()> {
    wait_until_settled(aws, table, None, progress).await?;
    let mut action = CreateGlobalSecondaryIndexAction::builder()
        .index_name(&index.name)
        .set_key_schema(Some(key_schema(
            &index.partition_key,
            index.sort_key.as_ref(),
        )?))
        .projection(projection(index));
    if let Some(capacity) = index.capacity {
        action = action.provisioned_throughput(throughput(capacity)?);
    }
    progress.status(&format!("creating index {} ({position})", index.name));
    let sent = aws
        .dynamodb
        .update_table()
        .table_name(table)
        .set_attribute_definitions(Some(attribute_definitions(keys)?))
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .create(action.build()?)
                .build(),
        )
        .send()
        .await;
    if let Err(e) = sent {
        let error = anyhow!(
            "UpdateTable {table} (create index {}) failed: {}",
            index.name,
            describe_sdk_error(&e)
        );
        // A lost reply: the retry finds the index already there (or creating).
        let made = |live: &LiveTable| {
            live.indexes
                .iter()
                .any(|i| i.definition.name == index.name && i.definition.same_shape(index))
        };
        recover_or(aws, table, progress, error, made).await?;
    }
    record_created_index(aws, table, &index.name, true).await?;
    wait_until_settled(aws, table, None, progress).await
}

/// UpdateTable deleting one global secondary index, then the wait until it is gone.
async fn delete_index(
    aws: &Aws,
    table: &str,
    index: &str,
    position: &str,
    progress: &StepProgress,
) -> Result<()> {
    wait_until_settled(aws, table, None, progress).await?;
    progress.status(&format!("deleting index {index} ({position})"));
    let sent = aws
        .dynamodb
        .update_table()
        .table_name(table)
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .delete(
                    DeleteGlobalSecondaryIndexAction::builder()
                        .index_name(index)
                        .build()?,
                )
                .build(),
        )
        .send()
        .await;
    if let Err(e) = sent {
        let error = anyhow!(
            "UpdateTable {table} (delete index {index}) failed: {}",
            describe_sdk_error(&e)
        );
        // A lost reply: the retry finds the index gone (or deleting).
        let made = |live: &LiveTable| {
            live.indexes
                .iter()
                .all(|i| i.definition.name != *index || i.status == "DELETING")
        };
        recover_or(aws, table, progress, error, made).await?;
    }
    wait_until_settled(aws, table, Some(index), progress).await?;
    record_created_index(aws, table, index, false).await
}

async fn create_table(aws: &Aws, table: &TableDefinition, progress: &StepProgress) -> Result<()> {
    let provisioned = table.billing_mode == BillingMode::Provisioned;
    let mut request = aws
        .dynamodb
        .create_table()
        .table_name(&table.name)
        .billing_mode(aws_billing_mode(table.billing_mode))
        .set_key_schema(Some(key_schema(
            &table.partition_key,
            table.sort_key.as_ref(),
        )?))
        .set_attribute_definitions(Some(attribute_definitions(
            &table.attribute_definitions(table.indexes.iter()),
        )?));
    if provisioned {
        let capacity = table
            .capacity
            .context("a PROVISIONED table needs capacity (validation should have caught this)")?;
        request = request.provisioned_throughput(throughput(capacity)?);
    }
    for index in &table.indexes {
        let mut gsi = AwsIndex::builder()
            .index_name(&index.name)
            .set_key_schema(Some(key_schema(
                &index.partition_key,
                index.sort_key.as_ref(),
            )?))
            .projection(projection(index));
        if provisioned {
            if let Some(capacity) = index.capacity {
                gsi = gsi.provisioned_throughput(throughput(capacity)?);
            }
        }
        request = request.global_secondary_indexes(gsi.build()?);
    }
    for (key, value) in &table.tags {
        request = request.tags(Tag::builder().key(key).value(value).build()?);
    }
    if !table.indexes.is_empty() {
        let mut names: Vec<&str> = table.indexes.iter().map(|i| i.name.as_str()).collect();
        names.sort_unstable();
        request = request.tags(
            Tag::builder()
                .key(CREATED_INDEXES_TAG)
                .value(names.join(","))
                .build()?,
        );
    }
    progress.status(&format!("CreateTable {}", table.name));
    match request.send().await {
        Ok(_) => {}
        // A lost reply to an earlier attempt may have created it already: then just wait.
        Err(err) if err.code() == Some("ResourceInUseException") => {
            progress.note("table already exists (an earlier attempt created it); waiting for it");
        }
        Err(err) => bail!(
            "CreateTable {} failed: {}",
            table.name,
            describe_sdk_error(&err)
        ),
    }
    wait_until_settled(aws, &table.name, None, progress).await
}

/// After a failed UpdateTable: when the table already shows the change (`made`), the call
/// went through and its reply was lost (the SDK's retry then met "already exists", "will not
/// change" or "being updated"), so carry on; otherwise the original error stands.
async fn recover_or(
    aws: &Aws,
    table: &str,
    progress: &StepProgress,
    error: anyhow::Error,
    made: impl Fn(&LiveTable) -> bool,
) -> Result<()> {
    match read_table(aws, table).await {
        Ok(Some(live)) if made(&live) => {
            progress.note(
                "the change is already in place (an earlier attempt made it); waiting for it",
            );
            Ok(())
        }
        _ => Err(error),
    }
}

/// Waits until the table and every index are ACTIVE and nothing backfills; with `gone`, also
/// until that index has disappeared.
async fn wait_until_settled(
    aws: &Aws,
    table: &str,
    gone: Option<&str>,
    progress: &StepProgress,
) -> Result<()> {
    wait::until(&aws.wait, progress, &format!("table {table}"), || async {
        let live = read_table(aws, table)
            .await?
            .ok_or_else(|| anyhow!("table {table} disappeared while pipectl was changing it"))?;
        if let Some(status) = live.settled() {
            return Ok(Poll::Pending(status));
        }
        if let Some(index) = gone {
            if live.indexes.iter().any(|i| i.definition.name == index) {
                return Ok(Poll::Pending(format!("index {index} still deleting")));
            }
        }
        Ok(Poll::Ready(()))
    })
    .await
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
    type Operation = TableOperation;

    const IMPORT_FLAGS: &'static [crate::spec::write::ImportFlag] = import::FLAGS;

    fn import<'a>(
        &'a self,
        context: &'a crate::kinds::kind::ImportContext<'a>,
    ) -> BoxFuture<'a, Result<Option<crate::kinds::kind::ImportedPart>>> {
        Box::pin(import::import(context))
    }

    fn sections() -> Vec<crate::spec::SectionKind> {
        vec![crate::spec::SectionKind::of::<section::DynamoDbTable>()]
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
    for (desired, live) in tables.iter().zip(&live_tables) {
        out.notes.extend(unmanaged_notes(desired, live.as_ref()));
        let (changes, errors) = plan_table(desired, live.as_ref());
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
