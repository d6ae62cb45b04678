//! Building a plan: read every resource the stack names, concurrently, and diff each against
//! the spec. Reads are independent, so a large stack costs about one round trip per
//! `parallelism` resources rather than one per resource.

use std::collections::BTreeMap;

use anyhow::Result;
use futures::stream::{self, StreamExt, TryStreamExt};

use std::time::SystemTime;

use k8s_openapi::api::apps::v1::StatefulSet;

use super::targets::Targets;
use super::{fingerprint, Action, Change, IgnoredField, Plan, PlanError};
use crate::providers::eks::{hpa, storage, Cluster, ClusterRequest};
use crate::providers::{dynamodb, lambda, sagemaker, Aws, Clients};
use crate::spec::LoadedStack;

/// How many reads run at once by default (`--parallelism` on plan and drift). The SDK retries
/// throttled calls with backoff.
pub const DEFAULT_READ_PARALLELISM: usize = 32;

/// How a plan is built.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The `--kube-context` flag.
    pub kube_context: Option<String>,
    /// How many resources are read at once.
    pub parallelism: usize,
    /// `--target`: the part of the stack to plan.
    pub targets: Targets,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            kube_context: None,
            parallelism: DEFAULT_READ_PARALLELISM,
            targets: Targets::default(),
        }
    }
}

/// The tags pipectl puts on what it creates: the stack's own, plus one naming the stack.
pub fn creation_tags(stack: &LoadedStack) -> BTreeMap<String, String> {
    let mut tags = stack.spec.stack.tags.clone();
    tags.insert("pipectl:stack".to_string(), stack.name().to_string());
    tags
}

/// Reads every resource the stack names and diffs it against the spec. Returns the plan and
/// the clients apply uses (including the Kubernetes cluster, when the stack has one).
/// With targets, only what they can select is read, and the plan is restricted to them.
pub async fn build(
    stack: &LoadedStack,
    aws: Aws,
    options: &BuildOptions,
) -> Result<(Plan, Clients)> {
    let read_concurrency = options.parallelism.max(1);
    let targets = &options.targets;
    let spec = &stack.spec;
    let mut plan = Plan {
        stack: stack.name().to_string(),
        ..Plan::default()
    };

    let tags = creation_tags(stack);
    let mut tables: Vec<dynamodb::TableDefinition> = spec
        .dynamodb
        .iter()
        .flat_map(|d| d.tables.iter())
        .map(|t| dynamodb::TableDefinition::from_spec(t, &tags))
        .collect();
    let mut functions: Vec<lambda::FunctionDefinition> = spec
        .lambda
        .iter()
        .flat_map(|l| l.functions.iter())
        .map(|f| lambda::FunctionDefinition::from_spec(f, &tags))
        .collect();
    let mut variants: Vec<sagemaker::VariantDefinition> = spec
        .sagemaker
        .iter()
        .flat_map(|s| s.endpoints.iter())
        .map(|e| sagemaker::VariantDefinition::from_spec(e, stack.name()))
        .collect();

    // With --target, read only what a target can select.
    let table_ids = |t: &dynamodb::TableDefinition| -> Vec<String> {
        let indexes = t
            .indexes
            .iter()
            .map(|i| format!("dynamodb.index.{}/{}", t.name, i.name));
        std::iter::once(format!("dynamodb.table.{}", t.name))
            .chain(indexes)
            .collect()
    };
    let function_ids = |f: &lambda::FunctionDefinition| -> Vec<String> {
        let trigger = f
            .trigger
            .as_ref()
            .map(|_| format!("lambda.kafka_trigger.{}", f.name));
        std::iter::once(format!("lambda.function.{}", f.name))
            .chain(trigger)
            .collect()
    };
    let variant_id = |v: &sagemaker::VariantDefinition| {
        format!("sagemaker.variant.{}/{}", v.endpoint, v.variant)
    };
    let declared: Vec<String> = tables
        .iter()
        .flat_map(table_ids)
        .chain(functions.iter().flat_map(function_ids))
        .chain(variants.iter().map(variant_id))
        .collect();
    tables.retain(|t| targets.selects_any(table_ids(t).iter().map(String::as_str)));
    functions.retain(|f| targets.selects_any(function_ids(f).iter().map(String::as_str)));
    variants.retain(|v| targets.selects(&variant_id(v)));

    let read_tables = stream::iter(tables.iter().map(|t| dynamodb::read_table_for(&aws, t)))
        .buffered(read_concurrency)
        .try_collect::<Vec<_>>();
    let read_functions = stream::iter(functions.iter().map(|f| lambda::read_function_for(&aws, f)))
        .buffered(read_concurrency)
        .try_collect::<Vec<_>>();
    let wants_reservation = functions.iter().any(|f| f.reserved_concurrency.is_some());
    let read_account = async {
        if wants_reservation {
            lambda::read_account(&aws).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let read_endpoints = stream::iter(variants.iter().map(|v| {
        sagemaker::read_endpoint(
            &aws,
            &v.endpoint,
            v.multi_model.then_some(v.variant.as_str()),
        )
    }))
    .buffered(read_concurrency)
    .try_collect::<Vec<_>>();
    // Read whenever the section exists, even empty, so variants removed from it are found.
    let read_scaling = async {
        if spec.sagemaker.is_some() {
            sagemaker::read_scaling(&aws).await
        } else {
            Ok(sagemaker::LiveScaling::default())
        }
    };
    let read_cluster = read_kafka(stack, &aws, options.kube_context.as_deref());
    let (live_tables, live_functions, account, live_endpoints, scaling, kafka) = tokio::try_join!(
        read_tables,
        read_functions,
        read_account,
        read_endpoints,
        read_scaling,
        read_cluster
    )?;

    // `[[ignore]]` rules: the named fields take their live values (or are left unmanaged).
    for (desired, live) in tables.iter_mut().zip(&live_tables) {
        let table_id = format!("dynamodb.table.{}", desired.name);
        for _ in ignored_fields(spec, &table_id, &mut plan.ignored) {
            desired.ignore_capacity(None, live.as_ref());
        }
        let index_names: Vec<String> = desired.indexes.iter().map(|i| i.name.clone()).collect();
        for index in index_names {
            let index_id = format!("dynamodb.index.{}/{index}", desired.name);
            for _ in ignored_fields(spec, &index_id, &mut plan.ignored) {
                desired.ignore_capacity(Some(&index), live.as_ref());
            }
        }
    }
    for desired in functions.iter_mut() {
        for field in ignored_fields(
            spec,
            &format!("lambda.function.{}", desired.name),
            &mut plan.ignored,
        ) {
            desired.ignore(&field);
        }
        let trigger_id = format!("lambda.kafka_trigger.{}", desired.name);
        if let Some(trigger) = desired.trigger.as_mut() {
            for field in ignored_fields(spec, &trigger_id, &mut plan.ignored) {
                trigger.ignore(&field);
            }
        }
    }
    for desired in variants.iter_mut() {
        let id = format!("sagemaker.variant.{}/{}", desired.endpoint, desired.variant);
        for field in ignored_fields(spec, &id, &mut plan.ignored) {
            desired.ignore(&field, &scaling);
        }
    }

    for (desired, live) in tables.iter().zip(&live_tables) {
        plan.notes
            .extend(dynamodb::unmanaged_notes(desired, live.as_ref()));
        let (changes, errors) = dynamodb::plan_table(desired, live.as_ref());
        plan.changes.extend(stamped(changes, live));
        plan.errors.extend(errors);
    }
    for (desired, live) in functions.iter().zip(&live_functions) {
        let (changes, errors) = lambda::plan_function(desired, live.as_ref());
        plan.changes.extend(stamped(changes, live));
        plan.errors.extend(errors);
    }
    if let Some(account) = account {
        plan.errors.extend(lambda::check_account_concurrency(
            &functions,
            &live_functions,
            account,
        ));
    }
    for (desired, live) in variants.iter().zip(&live_endpoints) {
        let (change, errors) = sagemaker::plan_variant(desired, live.as_ref(), &scaling);
        let observed = (live, scaling.of(&desired.resource_id()));
        plan.changes.extend(stamped(change, &observed));
        plan.errors.extend(errors);
    }
    plan.changes.extend(sagemaker::plan_removed(
        &variants,
        &scaling,
        &sagemaker::policy_name(stack.name()),
    ));
    let cluster = match kafka {
        KafkaRead::NotInStack => None,
        KafkaRead::Unreachable(error) => {
            plan.errors.push(error);
            None
        }
        KafkaRead::Read(cluster, live) => {
            plan_kafka(stack, &cluster, &live, &mut plan);
            Some(cluster)
        }
    };
    targets
        .restrict(&mut plan, &declared)
        .map_err(anyhow::Error::msg)?;
    Ok((plan, Clients { aws, cluster }))
}

/// The fields `[[ignore]]` rules name for one resource, recorded in `ignored` for the plan.
fn ignored_fields(
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
fn stamped<T: serde::Serialize>(
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

/// What was read from the cluster for `[kafka]`.
enum KafkaRead {
    NotInStack,
    Unreachable(PlanError),
    Read(Cluster, Box<LiveKafka>),
}

struct LiveKafka {
    statefulset: Option<StatefulSet>,
    autoscaler: Option<hpa::LiveAutoscaler>,
    /// Whether the cluster serves metrics.k8s.io (read only with `[kafka.brokers]`).
    metrics_api: bool,
    class: Option<storage::LiveClass>,
    volumes: Vec<storage::LiveVolume>,
}

async fn read_kafka(
    stack: &LoadedStack,
    aws: &Aws,
    kube_context: Option<&str>,
) -> Result<KafkaRead> {
    let spec = &stack.spec;
    let Some(kafka) = &spec.kafka else {
        return Ok(KafkaRead::NotInStack);
    };
    let request = ClusterRequest {
        cluster: spec
            .eks
            .as_ref()
            .and_then(|e| e.cluster.as_ref())
            .map(|c| c.get_ref().clone()),
        kube_context: kube_context
            .map(str::to_string)
            .or_else(|| spec.eks.as_ref().and_then(|e| e.kube_context.clone())),
        namespace: spec
            .eks
            .as_ref()
            .map(|e| e.namespace.get_ref().clone())
            .unwrap_or_else(|| "kafka".to_string()),
    };
    let cluster = match Cluster::connect(aws, &request).await {
        Ok(cluster) => cluster,
        Err(error) => return Ok(KafkaRead::Unreachable(error)),
    };
    let statefulset_name = kafka
        .brokers
        .as_ref()
        .map(|b| b.statefulset.get_ref().clone());
    let read_statefulset = async {
        match &statefulset_name {
            Some(name) => hpa::read_statefulset(&cluster, name).await,
            None => Ok(None),
        }
    };
    let read_autoscaler = async {
        match &kafka.brokers {
            Some(brokers) => hpa::read(&cluster, brokers.hpa_name.get_ref()).await,
            None => Ok(None),
        }
    };
    let read_class = async {
        match &kafka.storage {
            Some(storage) => storage::read_class(&cluster, storage.storage_class.get_ref()).await,
            None => Ok(None),
        }
    };
    let read_metrics_api = async {
        match &kafka.brokers {
            Some(_) => hpa::metrics_api_served(&cluster).await,
            None => Ok(true),
        }
    };
    let (statefulset, autoscaler, class, metrics_api) = tokio::try_join!(
        read_statefulset,
        read_autoscaler,
        read_class,
        read_metrics_api
    )?;
    let volumes = match (&kafka.storage, &statefulset) {
        (Some(storage), Some(sts)) => {
            storage::read_volumes(&cluster, aws, sts, storage.storage_class.get_ref()).await?
        }
        _ => vec![],
    };
    Ok(KafkaRead::Read(
        cluster,
        Box::new(LiveKafka {
            statefulset,
            autoscaler,
            metrics_api,
            class,
            volumes,
        }),
    ))
}

fn plan_kafka(stack: &LoadedStack, cluster: &Cluster, live: &LiveKafka, plan: &mut Plan) {
    let Some(kafka) = &stack.spec.kafka else {
        return;
    };
    if let Some(brokers) = &kafka.brokers {
        let mut desired =
            hpa::AutoscalerDefinition::from_spec(brokers, &cluster.namespace, stack.name());
        let id = format!("eks.hpa.{}/{}", desired.namespace, desired.name);
        for field in ignored_fields(&stack.spec, &id, &mut plan.ignored) {
            desired.ignore(&field, live.autoscaler.as_ref());
        }
        let (change, errors) = hpa::plan(
            &desired,
            live.statefulset.is_some(),
            live.autoscaler.as_ref(),
        );
        let observed = (live.statefulset.is_some(), &live.autoscaler);
        plan.changes.extend(stamped(change, &observed));
        plan.errors.extend(errors);
        if live.statefulset.is_some() {
            plan.notes.extend(hpa::scaling_warnings(
                &desired,
                live.statefulset.as_ref(),
                live.metrics_api,
            ));
        }
    }
    if let Some(storage_spec) = &kafka.storage {
        let class = storage::ClassDefinition::from_spec(storage_spec, stack.name());
        let class_change = storage::plan_class(&class, live.class.as_ref());
        let class_changes = class_change.action != Action::NoOp;
        plan.changes.extend(stamped([class_change], &live.class));
        if kafka.brokers.is_none() {
            plan.notes.push(
                "[kafka.storage] without [kafka.brokers]: live broker volumes are not checked (pipectl finds them through the broker StatefulSet)".into(),
            );
        } else if live.statefulset.is_some() && live.volumes.is_empty() {
            plan.notes.push(format!(
                "no broker volume uses StorageClass {}: the StatefulSet has no volumeClaimTemplate of that class, or no claim yet",
                class.name
            ));
        }
        let volumes: Vec<storage::VolumeDefinition> = live
            .volumes
            .iter()
            .map(|volume| {
                let mut desired = storage::VolumeDefinition::from_spec(storage_spec);
                let id = format!("eks.volume.{}/{}", cluster.namespace, volume.claim);
                for field in ignored_fields(&stack.spec, &id, &mut plan.ignored) {
                    desired.ignore(&field);
                }
                desired
            })
            .collect();
        let (changes, errors) = storage::plan_volumes(
            &volumes,
            &cluster.namespace,
            &live.volumes,
            class_changes,
            &class.name,
            SystemTime::now(),
        );
        // One change per volume, in the same order as the volumes read.
        plan.changes.extend(
            changes
                .into_iter()
                .zip(&live.volumes)
                .flat_map(|(change, volume)| stamped([change], volume)),
        );
        plan.errors.extend(errors);
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
