//! The Kafka brokers on EKS as one kind: the HPA that scales the broker StatefulSet, the
//! StorageClass of their volumes and the volumes themselves, read over one cluster connection
//! and one StatefulSet read.

use std::time::SystemTime;

use anyhow::Result;
use futures::future::BoxFuture;
use k8s_openapi::api::apps::v1::StatefulSet;

use crate::providers::eks::Cluster;

pub mod cost;
pub mod hpa;
pub mod import;
pub mod limits;
mod permissions;
pub mod section;
pub mod storage;
mod validate;
use crate::kinds::kind::{Kind, KindPlan, PlanContext};
use crate::plan::{ignored_fields, stamped, Action, PlanError, Step};
use crate::progress::StepProgress;
use crate::providers::{operation_of, Clients};
use crate::spec::LoadedStack;
use section::BrokerSections;

/// The brokers' HPA, StorageClass and volumes.
pub struct Brokers;
pub static BROKERS: Brokers = Brokers;

const IGNORABLE: &[(&str, &[&str])] = &[
    (
        "eks.hpa.",
        &[
            "min_replicas",
            "max_replicas",
            "target_cpu_utilization",
            "scale_down",
        ],
    ),
    (
        "eks.volume.",
        &["size", "volume_type", "iops", "throughput_mibps"],
    ),
];

impl Kind for Brokers {
    fn ignorable(&self) -> &'static [(&'static str, &'static [&'static str])] {
        IGNORABLE
    }

    fn executes(&self, service: &str) -> bool {
        matches!(service, "autoscaler" | "storage")
    }

    fn price_sources(&self) -> &'static [crate::plan::cost::PriceSource] {
        cost::PRICE_SOURCES
    }

    fn import_flags(&self) -> &'static [crate::spec::write::ImportFlag] {
        import::FLAGS
    }

    fn import<'a>(
        &'a self,
        context: &'a crate::kinds::kind::ImportContext<'a>,
    ) -> BoxFuture<'a, Result<Option<crate::kinds::kind::ImportedPart>>> {
        Box::pin(import::import(context))
    }

    fn sections(&self) -> Vec<crate::spec::SectionKind> {
        vec![
            crate::spec::SectionKind::of::<section::KafkaBrokers>(),
            crate::spec::SectionKind::of::<section::KafkaStorage>(),
        ]
    }

    fn offline_checks(&self) -> Option<crate::spec::validate::KindCheck> {
        Some(validate::check)
    }

    fn permissions(
        &self,
        spec: &crate::spec::StackSpec,
        scope: &crate::plan::permissions::Scope,
    ) -> crate::plan::permissions::Permissions {
        permissions::permissions(spec, scope)
    }

    fn operation_schemas(
        &self,
        generator: &mut schemars::SchemaGenerator,
    ) -> Vec<(&'static str, schemars::Schema)> {
        vec![
            (
                "autoscaler",
                generator.subschema_for::<hpa::AutoscalerOperation>(),
            ),
            (
                "storage",
                generator.subschema_for::<storage::StorageOperation>(),
            ),
        ]
    }

    fn plan<'a>(&'a self, context: &'a PlanContext<'a>) -> BoxFuture<'a, Result<KindPlan>> {
        Box::pin(async move {
            let mut out = KindPlan::default();
            let selected = Selected::of(&context.stack.spec, context.targets);
            out.declared = selected.declared.clone();
            match read_kafka(context.stack, context.clients, &selected).await? {
                KafkaRead::NotInStack => {}
                KafkaRead::Unreachable(error) => out.errors.push(error),
                KafkaRead::Read(cluster, live) => {
                    plan_kafka(context, cluster, &live, &selected, &mut out)
                }
            }
            Ok(out)
        })
    }

    fn execute<'a>(
        &'a self,
        clients: &'a Clients,
        step: &'a Step,
        progress: &'a StepProgress,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if step.service == "storage" {
                let operation = operation_of(step)?;
                return storage::execute(
                    clients.connected_cluster().ok(),
                    &clients.aws,
                    &operation,
                    progress,
                )
                .await;
            }
            hpa::execute(clients.connected_cluster()?, &operation_of(step)?).await
        })
    }
}

/// What was read from the cluster for `[kafka]`.
enum KafkaRead<'c> {
    NotInStack,
    Unreachable(PlanError),
    Read(&'c Cluster, Box<LiveKafka>),
}

/// Which parts of the family `--target` can select: only they are read and planned (the
/// cluster is not even reached when none is).
struct Selected {
    autoscaler: bool,
    class: bool,
    volumes: bool,
    /// The ids the stack declares for the family (volumes are known only once read).
    declared: Vec<String>,
}

impl Selected {
    fn of(spec: &crate::spec::StackSpec, targets: &crate::plan::targets::Targets) -> Selected {
        let namespace = crate::providers::eks::namespace_of(spec);
        let kafka = BrokerSections::of(spec);
        let brokers = kafka.and_then(|k| k.brokers);
        let storage = kafka.and_then(|k| k.storage);
        let autoscaler_id =
            brokers.map(|b| format!("eks.hpa.{namespace}/{}", b.hpa_name.get_ref()));
        let class_id = storage.map(|s| format!("eks.storage_class.{}", s.storage_class.get_ref()));
        Selected {
            autoscaler: autoscaler_id
                .as_deref()
                .is_some_and(|id| targets.selects(id)),
            class: class_id.as_deref().is_some_and(|id| targets.selects(id)),
            volumes: brokers.is_some()
                && storage.is_some()
                && targets.may_select_under(&format!("eks.volume.{namespace}/")),
            declared: autoscaler_id.into_iter().chain(class_id).collect(),
        }
    }

    fn nothing(&self) -> bool {
        !(self.autoscaler || self.class || self.volumes)
    }
}

struct LiveKafka {
    statefulset: Option<StatefulSet>,
    autoscaler: Option<hpa::LiveAutoscaler>,
    /// Whether the cluster serves metrics.k8s.io (read only with `[kafka.brokers]`).
    metrics_api: bool,
    class: Option<storage::LiveClass>,
    volumes: Vec<storage::LiveVolume>,
}

async fn read_kafka<'c>(
    stack: &LoadedStack,
    clients: &'c Clients,
    selected: &Selected,
) -> Result<KafkaRead<'c>> {
    let aws = &clients.aws;
    let spec = &stack.spec;
    // Topics alone go through Kafka's admin API, not the cluster.
    let Some(kafka) = BrokerSections::of(spec).filter(|_| !selected.nothing()) else {
        return Ok(KafkaRead::NotInStack);
    };
    let cluster = match clients.cluster(spec).await {
        Ok(cluster) => cluster,
        Err(error) => return Ok(KafkaRead::Unreachable(error)),
    };
    let statefulset_name = kafka
        .brokers
        .filter(|_| selected.autoscaler || selected.volumes)
        .map(|b| b.statefulset.get_ref().clone());
    let read_statefulset = async {
        match &statefulset_name {
            Some(name) => hpa::read_statefulset(cluster, name).await,
            None => Ok(None),
        }
    };
    let brokers_selected = kafka.brokers.filter(|_| selected.autoscaler);
    let read_autoscaler = async {
        match brokers_selected {
            Some(brokers) => hpa::read(cluster, brokers.hpa_name.get_ref()).await,
            None => Ok(None),
        }
    };
    // The class is read for the volumes too: their plan depends on whether it changes.
    let storage_selected = kafka.storage.filter(|_| selected.class || selected.volumes);
    let read_class = async {
        match storage_selected {
            Some(storage) => storage::read_class(cluster, storage.storage_class.get_ref()).await,
            None => Ok(None),
        }
    };
    let read_metrics_api = async {
        match brokers_selected {
            Some(_) => hpa::metrics_api_served(cluster).await,
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
        (Some(storage), Some(sts)) if selected.volumes => {
            storage::read_volumes(cluster, aws, sts, storage.storage_class.get_ref()).await?
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

fn plan_kafka(
    context: &PlanContext<'_>,
    cluster: &Cluster,
    live: &LiveKafka,
    selected: &Selected,
    plan: &mut KindPlan,
) {
    let Some(kafka) = BrokerSections::of(&context.stack.spec) else {
        return;
    };
    let autoscaler = kafka
        .brokers
        .filter(|_| selected.autoscaler)
        .map(|brokers| plan_autoscaler(context, cluster, live, brokers, plan));
    if let Some(storage_spec) = kafka.storage.filter(|_| selected.class || selected.volumes) {
        let volumes = plan_storage(
            context,
            cluster,
            live,
            (storage_spec, kafka.brokers.is_some()),
            selected,
            plan,
        );
        bill_volumes(
            plan,
            &cluster.namespace,
            live,
            &volumes,
            autoscaler.as_ref(),
        );
    }
}

/// The brokers' HPA, and warnings about how it would scale; its id and definition.
fn plan_autoscaler(
    context: &PlanContext<'_>,
    cluster: &Cluster,
    live: &LiveKafka,
    brokers: &section::KafkaBrokers,
    plan: &mut KindPlan,
) -> (String, hpa::AutoscalerDefinition) {
    let stack = context.stack;
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
    (id, desired)
}

/// The StorageClass and the broker volumes; what the file asks of each volume. `storage`: the
/// section, and whether the file has `[kafka.brokers]` (through whose StatefulSet the volumes
/// are found).
fn plan_storage(
    context: &PlanContext<'_>,
    cluster: &Cluster,
    live: &LiveKafka,
    (storage_spec, has_brokers): (&section::KafkaStorage, bool),
    selected: &Selected,
    plan: &mut KindPlan,
) -> Vec<storage::VolumeDefinition> {
    let class = storage::ClassDefinition::from_spec(storage_spec, context.stack.name());
    let mut class_change = storage::plan_class(&class, live.class.as_ref());
    storage::own_class(&mut class_change, &class, live.class.as_ref(), context);
    let class_changes = class_change.action != Action::NoOp;
    plan.changes.extend(stamped([class_change], &live.class));
    if !has_brokers {
        plan.notes.push(
            "[kafka.storage] without [kafka.brokers]: live broker volumes are not checked (pipectl finds them through the broker StatefulSet)".into(),
        );
    } else if selected.volumes && live.statefulset.is_some() && live.volumes.is_empty() {
        plan.notes.push(format!(
            "no broker volume uses StorageClass {}: the StatefulSet has no volumeClaimTemplate of that class, or no claim yet",
            class.name
        ));
    }
    let volumes = desired_volumes(context, cluster, live, storage_spec, plan);
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
    volumes
}

/// What the file asks of each live broker volume, with its `[[ignore]]` fields left as they
/// are.
fn desired_volumes(
    context: &PlanContext<'_>,
    cluster: &Cluster,
    live: &LiveKafka,
    storage_spec: &section::KafkaStorage,
    plan: &mut KindPlan,
) -> Vec<storage::VolumeDefinition> {
    live.volumes
        .iter()
        .map(|volume| {
            let mut desired = storage::VolumeDefinition::from_spec(storage_spec);
            let id = format!("eks.volume.{}/{}", cluster.namespace, volume.claim);
            for field in ignored_fields(&context.stack.spec, &id, &mut plan.ignored) {
                desired.ignore(&field);
            }
            desired
        })
        .collect()
}

/// Each volume change's cost, and the autoscaler's: the volumes it may add (brokers/cost.rs).
fn bill_volumes(
    plan: &mut KindPlan,
    namespace: &str,
    live: &LiveKafka,
    desired: &[storage::VolumeDefinition],
    autoscaler: Option<&(String, hpa::AutoscalerDefinition)>,
) {
    let mut per_volume = None;
    for (volume, wanted) in live.volumes.iter().zip(desired) {
        let Some(ebs) = &volume.ebs else { continue };
        let id = format!("eks.volume.{namespace}/{}", volume.claim);
        if let Some(change) = plan.changes.iter_mut().find(|c| c.id.to_string() == id) {
            change.billable = Some(cost::volume_billable(ebs, wanted));
        }
        per_volume.get_or_insert_with(|| {
            (
                cost::VolumeSettings::live(ebs),
                cost::VolumeSettings::wanted(ebs, wanted),
            )
        });
    }
    let (Some((hpa_id, desired)), Some((before, after))) = (autoscaler, per_volume) else {
        return;
    };
    let live_max = live.autoscaler.as_ref().map(|a| a.max_replicas);
    if let Some(change) = plan
        .changes
        .iter_mut()
        .find(|c| c.id.to_string() == *hpa_id)
    {
        change.billable = Some(cost::headroom_billable(
            live.volumes.len(),
            live_max,
            desired,
            (&before, &after),
        ));
    }
}
