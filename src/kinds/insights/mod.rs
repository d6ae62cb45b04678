//! DynamoDB Contributor Insights (`contributor_insights = true` on a table or a global
//! secondary index): the most accessed and most throttled keys, so the seed article's
//! write-sharding advice is driven by data. A kind of its own: this folder and one line in the
//! registry. Its changes wait for the table's lane (`after_lane`), so a table or index created
//! in the same apply exists before its insights are enabled, whatever the registry's order.

mod cost;
mod permissions;

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::types::{ContributorInsightsAction, ContributorInsightsStatus};
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::kinds::kind::{KindPlan, PlanContext, TypedKind};
use crate::kinds::tables::contributor_insights::{self, LiveInsights};
use crate::kinds::tables::section::{AttributeType, DynamoDbTable};
use crate::plan::{
    ignored_fields, stamped, Action, Change, FieldDiff, ResourceId, ResourceKind, Unhealthy,
};
use crate::progress::StepProgress;
use crate::providers::wait::{self, Poll};
use crate::providers::{describe_sdk_error, Aws, Clients};
use crate::spec::StackSpec;

/// The kind of `dynamodb.contributor_insights.TABLE[/INDEX]` resource ids.
pub const INSIGHTS: ResourceKind = ResourceKind::named("dynamodb.contributor_insights");

/// Contributor Insights of tables and indexes.
pub struct ContributorInsights;
pub static CONTRIBUTOR_INSIGHTS: ContributorInsights = ContributorInsights;

/// One table's or index's Contributor Insights, as the file wants it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InsightsDefinition {
    pub table: String,
    pub index: Option<String>,
    pub enabled: bool,
    /// `ContributorInsightsMode` when enabled.
    #[serde(default)]
    pub mode: Option<String>,
}

impl InsightsDefinition {
    fn name(&self) -> String {
        match &self.index {
            Some(index) => format!("{}/{index}", self.table),
            None => self.table.clone(),
        }
    }

    fn id(&self) -> String {
        format!("{}.{}", INSIGHTS.prefix(), self.name())
    }
}

/// UpdateContributorInsights, then a wait until the status settles.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InsightsOperation {
    pub table: String,
    pub index: Option<String>,
    pub enable: bool,
    /// `ContributorInsightsMode` to enable with.
    #[serde(default)]
    pub mode: Option<String>,
}

impl InsightsOperation {
    pub fn api_calls(&self) -> Vec<&'static str> {
        let mut calls = vec![
            "dynamodb:UpdateContributorInsights",
            "dynamodb:DescribeContributorInsights",
        ];
        if self.enable {
            // IAM checks the caller for the service-linked role DynamoDB creates on the
            // account's first enable.
            calls.push("iam:CreateServiceLinkedRole");
        }
        calls
    }
}

impl TypedKind for ContributorInsights {
    const SERVICE: &'static str = "dynamodb_insights";
    const IGNORABLE: &'static [(&'static str, &'static [&'static str])] =
        &[("dynamodb.contributor_insights.", &["enabled", "mode"])];
    const PRICE_SOURCES: &'static [crate::plan::cost::PriceSource] = cost::PRICE_SOURCES;
    type Operation = InsightsOperation;

    fn plan<'a>(&'a self, context: &'a PlanContext<'a>) -> BoxFuture<'a, Result<KindPlan>> {
        Box::pin(plan_insights(context))
    }

    fn permissions(
        spec: &StackSpec,
        scope: &crate::plan::permissions::Scope,
    ) -> crate::plan::permissions::Permissions {
        permissions::permissions(spec, scope)
    }

    fn usage_metrics(spec: &StackSpec) -> Vec<crate::plan::usage::Metric> {
        cost::usage_metrics(spec)
    }

    fn run<'a>(
        &'a self,
        clients: &'a Clients,
        operation: InsightsOperation,
        progress: &'a StepProgress,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { execute(&clients.aws, &operation, progress).await })
    }
}

/// The mode an enabled table or index should track (DynamoDB's default when the file says none).
fn wanted_mode(
    enabled: bool,
    mode: Option<crate::kinds::tables::section::InsightsMode>,
) -> Option<String> {
    enabled.then(|| {
        mode.map_or(contributor_insights::DEFAULT_MODE, |m| m.as_str())
            .to_string()
    })
}

/// What the file asks of each table and index (only where it says `contributor_insights`).
fn desired(spec: &StackSpec) -> Vec<InsightsDefinition> {
    let mut wanted = vec![];
    for table in spec.entries::<DynamoDbTable>() {
        let name = table.name.get_ref();
        if let Some(enabled) = table.contributor_insights {
            wanted.push(InsightsDefinition {
                table: name.clone(),
                index: None,
                enabled,
                mode: wanted_mode(enabled, table.contributor_insights_mode),
            });
        }
        for gsi in table.global_secondary_indexes.iter().filter(|g| !g.remove) {
            if let Some(enabled) = gsi.contributor_insights {
                wanted.push(InsightsDefinition {
                    table: name.clone(),
                    index: Some(gsi.name.get_ref().clone()),
                    enabled,
                    mode: wanted_mode(enabled, gsi.contributor_insights_mode),
                });
            }
        }
    }
    wanted
}

/// The seed article's sharding section is about low-cardinality partition keys: a GSI keyed on
/// a number named like a score or a flag puts most writes on a few partitions.
fn hot_key_notes(spec: &StackSpec) -> Vec<String> {
    let mut notes = vec![];
    for table in spec.entries::<DynamoDbTable>() {
        for gsi in &table.global_secondary_indexes {
            let Some(key) = &gsi.partition_key else {
                continue;
            };
            let name = key.name.get_ref().to_ascii_lowercase();
            let numeric = *key.attribute_type.get_ref() == AttributeType::N;
            let low_cardinality = ["score", "flag", "status", "level"]
                .iter()
                .any(|w| name.contains(w))
                || name.starts_with("is")
                || name.starts_with("has");
            if numeric && low_cardinality {
                let watch = if gsi.contributor_insights == Some(true) {
                    "its Contributor Insights show which keys are hot"
                } else {
                    "set contributor_insights = true on the index to see which keys are hot"
                };
                notes.push(format!(
                    "dynamodb.index.{}/{}: its partition key {} is a number named like a score or flag: few distinct values put most writes on a few partitions (hot keys); shard the key (e.g. add a random suffix); {watch}",
                    table.name.get_ref(),
                    gsi.name.get_ref(),
                    key.name.get_ref()
                ));
            }
        }
    }
    notes
}

/// The live state: `None` when the table or index does not exist (yet).
pub async fn read(aws: &Aws, wanted: &InsightsDefinition) -> Result<Option<LiveInsights>> {
    contributor_insights::status(aws, &wanted.table, wanted.index.as_deref()).await
}

fn plan_one(wanted: &InsightsDefinition, live: Option<&LiveInsights>) -> Change {
    let live_on = live.is_some_and(|l| contributor_insights::is_on(&l.status));
    let live_mode = live_on.then(|| {
        live.and_then(|l| l.mode.clone())
            .unwrap_or_else(|| contributor_insights::DEFAULT_MODE.to_string())
    });
    // On both sides, in another mode: enabling again with the wanted mode switches it.
    let mode_differs = live_on && wanted.enabled && live_mode != wanted.mode;
    let action = if live_on == wanted.enabled && !mode_differs {
        Action::NoOp
    } else {
        Action::Update
    };
    let steps = if action == Action::NoOp {
        vec![]
    } else {
        let operation = InsightsOperation {
            table: wanted.table.clone(),
            index: wanted.index.clone(),
            enable: wanted.enabled,
            mode: wanted.mode.clone(),
        };
        vec![ContributorInsights::step(
            format!(
                "{} Contributor Insights on {}, then wait until {}",
                if wanted.enabled { "enable" } else { "disable" },
                wanted.name(),
                if wanted.enabled {
                    "ENABLED"
                } else {
                    "DISABLED"
                }
            ),
            operation.api_calls(),
            &operation,
        )]
    };
    let mut diffs = vec![];
    if live_on != wanted.enabled {
        diffs.push(FieldDiff::new(
            "enabled",
            Some(live_on.to_string()),
            Some(wanted.enabled.to_string()),
        ));
    }
    if action != Action::NoOp && wanted.enabled && live_mode != wanted.mode {
        diffs.push(FieldDiff::new("mode", live_mode, wanted.mode.clone()));
    }
    let unhealthy = live.filter(|l| l.status == "FAILED").map(|l| Unhealthy {
        reason: format!(
            "Contributor Insights on {} is FAILED: {}",
            wanted.name(),
            l.failure.as_deref().unwrap_or("DynamoDB gives no reason")
        ),
        help: contributor_insights::failure_help(l.failure.as_deref()),
    });
    Change {
        diffs,
        // After the table's (or index's) own changes, so what they create exists first.
        after_lane: Some(crate::kinds::tables::lane_of(&wanted.table)),
        steps,
        unhealthy,
        ..Change::new(
            ResourceId::new(INSIGHTS, wanted.name()),
            action,
            format!("dynamodb_insights:{}", wanted.table),
        )
    }
}

async fn plan_insights(context: &PlanContext<'_>) -> Result<KindPlan> {
    let spec = &context.stack.spec;
    let mut out = KindPlan {
        notes: hot_key_notes(spec),
        ..KindPlan::default()
    };
    let mut wanted = desired(spec);
    out.declared = wanted.iter().map(InsightsDefinition::id).collect();
    wanted.retain(|w| context.targets.selects(&w.id()));
    // Futures collected first: a closure in the stream's type would tie its lifetimes.
    let reads: Vec<_> = wanted.iter().map(|w| read(context.aws, w)).collect();
    let live: Vec<Option<LiveInsights>> = stream::iter(reads)
        .buffered(context.parallelism)
        .try_collect()
        .await?;
    for (want, status) in wanted.iter_mut().zip(&live) {
        if !ignored_fields(spec, &want.id(), &mut out.ignored).is_empty() {
            want.enabled = status
                .as_ref()
                .is_some_and(|s| contributor_insights::is_on(&s.status));
            want.mode = status.as_ref().and_then(|s| {
                contributor_insights::is_on(&s.status).then(|| {
                    s.mode
                        .clone()
                        .unwrap_or_else(|| contributor_insights::DEFAULT_MODE.to_string())
                })
            });
        }
    }
    // Read alongside the statuses; awaited only now that they are read.
    let usage = context.usage().await;
    for (want, status) in wanted.iter().zip(&live) {
        // ENABLING and ENABLED are one state to compare, so the digest takes the comparison's view.
        let observed = status
            .as_ref()
            .map(|s| (contributor_insights::is_on(&s.status), s.mode.clone()));
        let mut change = plan_one(want, status.as_ref());
        let (sort_key, declared) = key_and_usage(spec, want);
        change.billable = Some(cost::insights_billable(
            want,
            status.as_ref(),
            sort_key,
            cost::EventSources {
                measured: usage.as_deref(),
                declared: declared.as_ref(),
            },
        ));
        if change.action == Action::Update && want.enabled {
            out.notes.push(plaintext_keys_note(want));
        }
        out.changes.extend(stamped([change], &observed));
    }
    Ok(out)
}

/// Whether the table or index has a sort key (two more rules), and the table's declared usage
/// (an index declares none).
fn key_and_usage(
    spec: &StackSpec,
    wanted: &InsightsDefinition,
) -> (bool, Option<crate::kinds::tables::section::TableUsage>) {
    let Some(table) = spec
        .entries::<DynamoDbTable>()
        .iter()
        .find(|t| *t.name.get_ref() == wanted.table)
    else {
        return (false, None);
    };
    match &wanted.index {
        None => (
            table.sort_key.is_some(),
            table.usage.as_ref().map(|u| *u.get_ref()),
        ),
        Some(index) => (
            table
                .global_secondary_indexes
                .iter()
                .any(|g| g.name.get_ref() == index && g.sort_key.is_some()),
            None,
        ),
    }
}

/// Enabling shows keys in CloudWatch graphs in plain text, whatever the table's encryption
/// (UpdateContributorInsights API reference): a reviewer of the plan should know.
fn plaintext_keys_note(wanted: &InsightsDefinition) -> String {
    format!(
        "{}: Contributor Insights shows the most accessed and throttled keys in plain text in CloudWatch graphs, even for a table encrypted with a KMS key: leave it off where the keys themselves are confidential",
        wanted.id()
    )
}

async fn execute(aws: &Aws, operation: &InsightsOperation, progress: &StepProgress) -> Result<()> {
    let name = match &operation.index {
        Some(index) => format!("{}/{index}", operation.table),
        None => operation.table.clone(),
    };
    let action = if operation.enable {
        ContributorInsightsAction::Enable
    } else {
        ContributorInsightsAction::Disable
    };
    progress.status(&format!("UpdateContributorInsights {name}"));
    aws.dynamodb
        .update_contributor_insights()
        .table_name(&operation.table)
        .set_index_name(operation.index.clone())
        .contributor_insights_action(action)
        .set_contributor_insights_mode(
            operation
                .mode
                .as_deref()
                .map(aws_sdk_dynamodb::types::ContributorInsightsMode::from),
        )
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "UpdateContributorInsights {name} failed: {}",
                describe_sdk_error(&e)
            )
        })?;
    let target = if operation.enable {
        ContributorInsightsStatus::Enabled
    } else {
        ContributorInsightsStatus::Disabled
    };
    let wanted = InsightsDefinition {
        table: operation.table.clone(),
        index: operation.index.clone(),
        enabled: operation.enable,
        mode: operation.mode.clone(),
    };
    wait::until(
        &aws.wait,
        progress,
        &format!("Contributor Insights {name}"),
        || async {
            match read(aws, &wanted).await? {
                Some(live) if live.status == target.as_str() => Ok(Poll::Ready(())),
                Some(live) if live.status == "FAILED" => Err(anyhow!(
                    "Contributor Insights on {name} FAILED: {}; {}",
                    live.failure
                        .as_deref()
                        .unwrap_or("DynamoDB gives no reason"),
                    contributor_insights::failure_help(live.failure.as_deref())
                )),
                Some(live) => Ok(Poll::Pending(format!(
                    "ContributorInsightsStatus {}",
                    live.status
                ))),
                None => Err(anyhow!("{name} disappeared while pipectl was changing it")),
            }
        },
    )
    .await
}
