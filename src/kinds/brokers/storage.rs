//! Broker storage: the EBS StorageClass new broker volumes are made from, and the live volumes
//! the brokers already have.
//!
//! Rules (rules-of-the-road.md, "EKS / Kubernetes"):
//! * a StorageClass's `parameters`, `provisioner`, `reclaimPolicy` and `volumeBindingMode` are
//!   immutable: a change is a replace (delete, then create), destructive, and it does not touch
//!   volumes that exist;
//! * existing volumes are found from the StatefulSet's volumeClaimTemplates (PVCs named
//!   `TEMPLATE-STATEFULSET-ORDINAL`), then each PV's `spec.csi.volumeHandle` (the EBS volume id);
//! * sizes only grow, by patching the PVC (the class must allow expansion);
//! * type, IOPS and throughput change through EC2 ModifyVolume. A volume can be modified again
//!   only once its previous modification is `completed` (not `optimizing`), and at most
//!   `limits::EBS_MODIFICATIONS_PER_VOLUME_PER_DAY` times in a rolling 24 hours: a busy volume
//!   is deferred and reported, never forced, and AWS's refusal of one over the daily count is
//!   reported with AWS's text. When a volume needs both a new size and new performance, one
//!   ModifyVolume carries both (a second one would wait for the first to complete and use up
//!   one more of the day's modifications); the PVC is patched after it, and the CSI resizer
//!   then finds the volume already grown.

/// The Kubernetes calls of the storage steps, as plan steps list them.
pub const APPLY_CLASS: &str = "kubernetes:apply storage.k8s.io/v1 storageclasses";
pub const DELETE_CLASS: &str = "kubernetes:delete storage.k8s.io/v1 storageclasses";
pub const PATCH_CLAIM: &str = "kubernetes:patch v1 persistentvolumeclaims";
pub const GET_CLAIM: &str = "kubernetes:get v1 persistentvolumeclaims";

use std::collections::BTreeMap;
use std::time::SystemTime;

mod volumes;
pub use volumes::*;

use anyhow::{anyhow, bail, Result};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{Filter, VolumeModificationState, VolumeType};
use futures::future::try_join_all;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::limits;
use crate::plan::{
    Action, Change, FieldDiff, Hazard, PlanError, ResourceId, ResourceKind, Step, Unhealthy,
    SLOT_LANE_PREFIX, STACK_LABEL,
};
use crate::progress::StepProgress;
use crate::providers::eks::FIELD_MANAGER;
use crate::providers::eks::{api_status, describe_kube_error, server_side_apply, Cluster};
use crate::providers::to_i32;
use crate::providers::wait::{self, Poll};
use crate::providers::{describe_sdk_error, Aws};

/// The kind of `eks.storage_class.NAME` resource ids.
pub const STORAGE_CLASS: ResourceKind = ResourceKind::named("eks.storage_class");
/// The kind of `eks.volume.NAME` resource ids.
pub const VOLUME: ResourceKind = ResourceKind::named("eks.volume");

pub const EBS_CSI_PROVISIONER: &str = "ebs.csi.aws.com";
const GIB: u64 = 1 << 30;

/// The StorageClass the spec asks for.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ClassDefinition {
    pub name: String,
    pub parameters: BTreeMap<String, String>,
    /// None: keep the live class's policy (Kubernetes' default, Delete, for a new class).
    pub reclaim_policy: Option<String>,
    pub stack: String,
}

impl ClassDefinition {
    pub fn from_spec(storage: &crate::kinds::brokers::section::KafkaStorage, stack: &str) -> Self {
        let mut parameters = BTreeMap::new();
        parameters.insert("type".to_string(), storage.volume_type.get_ref().clone());
        if let Some(iops) = &storage.iops {
            parameters.insert("iops".to_string(), iops.get_ref().to_string());
        }
        if let Some(throughput) = &storage.throughput_mibps {
            parameters.insert("throughput".to_string(), throughput.get_ref().to_string());
        }
        parameters.insert("encrypted".to_string(), storage.encrypted.to_string());
        if let Some(key) = &storage.kms_key_id {
            parameters.insert("kmsKeyId".to_string(), key.clone());
        }
        ClassDefinition {
            name: storage.storage_class.get_ref().clone(),
            parameters,
            reclaim_policy: storage.reclaim_policy.as_ref().map(|p| p.get_ref().clone()),
            stack: stack.to_string(),
        }
    }

    /// The class pipectl applies. Everything pipectl does not manage is carried over from the
    /// live class (`mountOptions`, `allowedTopologies`, `volumeBindingMode`, labels and
    /// annotations such as the default-class one, and the reclaim policy unless the spec sets
    /// it): a replace recreates the class as it was but for the spec's fields, and an in-place
    /// apply never drops them.
    pub fn manifest(&self, live: Option<&LiveClass>) -> serde_json::Value {
        let mut labels = live.map(|l| l.labels.clone()).unwrap_or_default();
        labels.insert("app.kubernetes.io/managed-by".into(), "pipectl".into());
        labels.insert(STACK_LABEL.into(), self.stack.clone());
        let mut metadata = json!({"name": self.name, "labels": labels});
        let mut manifest = json!({
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "provisioner": live
                .map(|l| l.provisioner.as_str())
                .filter(|p| is_ebs_provisioner(p))
                .unwrap_or(EBS_CSI_PROVISIONER),
            "parameters": self.parameters,
            "volumeBindingMode": live
                .map(|l| l.volume_binding_mode.as_str())
                .unwrap_or("WaitForFirstConsumer"),
            "allowVolumeExpansion": true,
        });
        if let Some(live) = live {
            let annotations: BTreeMap<&String, &String> = live
                .annotations
                .iter()
                .filter(|(k, _)| k.as_str() != LAST_APPLIED_ANNOTATION)
                .collect();
            if !annotations.is_empty() {
                metadata["annotations"] = json!(annotations);
            }
            if !live.mount_options.is_empty() {
                manifest["mountOptions"] = json!(live.mount_options);
            }
            if let Some(topologies) = &live.allowed_topologies {
                manifest["allowedTopologies"] = topologies.clone();
            }
        }
        if let Some(policy) = self
            .reclaim_policy
            .as_deref()
            .or(live.map(|l| l.reclaim_policy.as_str()))
        {
            manifest["reclaimPolicy"] = json!(policy);
        }
        manifest["metadata"] = metadata;
        manifest
    }
}

/// kubectl's client-side apply record: it belongs to kubectl, not to the class.
const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The EBS CSI driver, and EKS Auto Mode's built-in EBS provisioner.
pub const EKS_AUTO_MODE_PROVISIONER: &str = "ebs.csi.eks.amazonaws.com";

fn is_ebs_provisioner(provisioner: &str) -> bool {
    provisioner == EBS_CSI_PROVISIONER || provisioner == EKS_AUTO_MODE_PROVISIONER
}

/// Parameters keyed by lower-cased name: the EBS CSI driver reads parameter names
/// case-insensitively (`IOPS` and `iops` are the same parameter).
fn parameters_by_lower_name(
    parameters: &BTreeMap<String, String>,
) -> BTreeMap<String, (&String, &String)> {
    parameters
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), (k, v)))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LiveClass {
    pub provisioner: String,
    pub parameters: BTreeMap<String, String>,
    pub volume_binding_mode: String,
    pub allow_volume_expansion: bool,
    pub reclaim_policy: String,
    pub mount_options: Vec<String>,
    pub allowed_topologies: Option<serde_json::Value>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub resource_version: Option<String>,
    /// The object as read, for its `managedFields` (not part of a saved plan's fingerprint).
    #[serde(skip)]
    pub object: serde_json::Value,
}

pub async fn read_class(cluster: &Cluster, name: &str) -> Result<Option<LiveClass>> {
    let api: Api<StorageClass> = Api::all(cluster.client().await?);
    let class = api.get_opt(name).await.map_err(|e| {
        anyhow!(
            "reading StorageClass {name} failed: {}",
            describe_kube_error(&e)
        )
    })?;
    Ok(class.map(|c| LiveClass {
        object: serde_json::to_value(&c).unwrap_or_default(),
        provisioner: c.provisioner,
        parameters: c.parameters.unwrap_or_default(),
        // Kubernetes' defaults for absent fields (SetDefaults_StorageClass).
        volume_binding_mode: c
            .volume_binding_mode
            .unwrap_or_else(|| "Immediate".to_string()),
        allow_volume_expansion: c.allow_volume_expansion.unwrap_or(false),
        reclaim_policy: c.reclaim_policy.unwrap_or_else(|| "Delete".to_string()),
        mount_options: c.mount_options.unwrap_or_default(),
        allowed_topologies: c
            .allowed_topologies
            .and_then(|t| serde_json::to_value(t).ok()),
        labels: c.metadata.labels.unwrap_or_default(),
        annotations: c.metadata.annotations.unwrap_or_default(),
        resource_version: c.metadata.resource_version,
    }))
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum StorageOperation {
    ApplyClass {
        name: String,
        manifest: serde_json::Value,
    },
    DeleteClass {
        name: String,
    },
    ModifyVolume {
        claim: String,
        volume_id: String,
        volume_type: Option<String>,
        iops: Option<i64>,
        throughput_mibps: Option<i64>,
        size_gib: Option<i64>,
    },
    ResizeClaim {
        namespace: String,
        claim: String,
        size_gib: i64,
    },
}

impl StorageOperation {
    /// The operation as a plan step of service `storage`.
    pub fn into_step(self, description: String) -> Step {
        let api_calls = self.api_calls();
        crate::providers::step_of("storage", description, api_calls, &self)
    }

    /// The API calls apply makes for it (AWS calls as IAM names them), then the wait's reads.
    pub fn api_calls(&self) -> Vec<&'static str> {
        match self {
            StorageOperation::ApplyClass { .. } => vec![APPLY_CLASS],
            StorageOperation::DeleteClass { .. } => vec![DELETE_CLASS],
            StorageOperation::ModifyVolume { .. } => {
                vec!["ec2:ModifyVolume", "ec2:DescribeVolumesModifications"]
            }
            StorageOperation::ResizeClaim { .. } => vec![PATCH_CLAIM, GET_CLAIM],
        }
    }
}

fn step(description: String, operation: StorageOperation) -> Step {
    operation.into_step(description)
}

pub fn class_lane(name: &str) -> String {
    format!("eks:storageclass:{name}")
}

/// The server-side apply of the class as the file wants it (with this stack's label).
fn apply_class_step(desired: &ClassDefinition, live: Option<&LiveClass>) -> Step {
    step(
        format!(
            "server-side apply StorageClass {} (field manager {FIELD_MANAGER})",
            desired.name
        ),
        StorageOperation::ApplyClass {
            name: desired.name.clone(),
            manifest: desired.manifest(live),
        },
    )
}

/// The class's owner (its `pipectl.io/stack` label) on its change; when this stack must put
/// its name on the class (`--take-over`, or adoption at its first change), the apply that
/// writes the label, and the owner's diff.
pub fn own_class(
    change: &mut Change,
    desired: &ClassDefinition,
    live: Option<&LiveClass>,
    context: &crate::kinds::kind::PlanContext<'_>,
) {
    let Some(live) = live else {
        return;
    };
    change.owner = live.labels.get(STACK_LABEL).cloned();
    if !context.tags_owner(change) {
        return;
    }
    let stack = context.stack.name();
    if change.steps.is_empty() {
        change.move_owner(stack, apply_class_step(desired, Some(live)));
    } else {
        // The change's own apply writes the label already.
        let before = change.owner.clone();
        change
            .diffs
            .push(FieldDiff::new("owner", before, Some(stack.to_string())));
    }
}

pub fn plan_class(desired: &ClassDefinition, live: Option<&LiveClass>) -> Change {
    let id = ResourceId::new(STORAGE_CLASS, &desired.name);
    let apply = apply_class_step(desired, live);
    let mut change = Change {
        ..Change::new(id, Action::NoOp, class_lane(&desired.name))
    };
    let Some(live) = live else {
        change.action = Action::Create;
        change.diffs.push(FieldDiff::new(
            "provisioner",
            None,
            Some(EBS_CSI_PROVISIONER.into()),
        ));
        for (key, value) in &desired.parameters {
            change.diffs.push(FieldDiff::new(
                &format!("parameters.{key}"),
                None,
                Some(value.clone()),
            ));
        }
        if let Some(policy) = &desired.reclaim_policy {
            change
                .diffs
                .push(FieldDiff::new("reclaim_policy", None, Some(policy.clone())));
        }
        change.diffs.extend([
            FieldDiff::new(
                "volume_binding_mode",
                None,
                Some("WaitForFirstConsumer".into()),
            ),
            FieldDiff::new("allow_volume_expansion", None, Some("true".into())),
        ]);
        change.steps.push(apply);
        return change;
    };
    let immutable = immutable_class_diffs(desired, live);
    let expansion = (!live.allow_volume_expansion).then(|| {
        FieldDiff::new(
            "allow_volume_expansion",
            Some("false".into()),
            Some("true".into()),
        )
    });
    if !immutable.is_empty() {
        change.action = Action::Replace;
        change.destructive = true;
        change.diffs = immutable;
        change.diffs.extend(expansion);
        change.hazards.push(Hazard {
            message: "StorageClass parameters are immutable: the class is deleted and created again. Volumes that exist keep their old settings (pipectl changes broker volumes separately); until the new class exists, no new broker volume can be provisioned".into(),
        });
        change.steps.push(step(
            format!("delete StorageClass {}", desired.name),
            StorageOperation::DeleteClass {
                name: desired.name.clone(),
            },
        ));
        change.steps.push(apply);
    } else if let Some(expansion) = expansion {
        change.action = Action::Update;
        change.diffs.push(expansion);
        change.steps.push(apply);
        change.conflicts =
            crate::providers::eks::field_conflicts(&live.object, &desired.manifest(Some(live)));
        if !change.conflicts.is_empty() {
            change
                .hazards
                .push(super::hpa::conflict_hazard(&change.conflicts));
        }
    }
    change
}

/// Differences in the fields Kubernetes does not let change in place.
fn immutable_class_diffs(desired: &ClassDefinition, live: &LiveClass) -> Vec<FieldDiff> {
    let mut immutable = vec![];
    if !is_ebs_provisioner(&live.provisioner) {
        immutable.push(FieldDiff::new(
            "provisioner",
            Some(live.provisioner.clone()),
            Some(EBS_CSI_PROVISIONER.into()),
        ));
    }
    let (want, have) = (
        parameters_by_lower_name(&desired.parameters),
        parameters_by_lower_name(&live.parameters),
    );
    let keys: std::collections::BTreeSet<&String> = want.keys().chain(have.keys()).collect();
    for key in keys {
        let (before, after) = (have.get(key), want.get(key));
        if before.map(|(_, v)| v) != after.map(|(_, v)| v) {
            let name = after.or(before).map(|(k, _)| k.as_str()).unwrap_or(key);
            immutable.push(FieldDiff::new(
                &format!("parameters.{name}"),
                before.map(|(_, v)| (*v).clone()),
                after.map(|(_, v)| (*v).clone()),
            ));
        }
    }
    if let Some(policy) = &desired.reclaim_policy {
        if *policy != live.reclaim_policy {
            immutable.push(FieldDiff::new(
                "reclaim_policy",
                Some(live.reclaim_policy.clone()),
                Some(policy.clone()),
            ));
        }
    }
    immutable
}

// ---------------------------------------------------------------------------------- apply

/// Executes one of the storage operations: one function per operation.
pub async fn execute(
    cluster: Option<&Cluster>,
    aws: &Aws,
    operation: &StorageOperation,
    progress: &StepProgress,
) -> Result<()> {
    let cluster = || cluster.ok_or_else(|| anyhow!("no Kubernetes cluster is connected"));
    match operation {
        StorageOperation::ApplyClass { name, manifest } => {
            let api: Api<StorageClass> = Api::all(cluster()?.client().await?);
            server_side_apply(&api, name, manifest, &format!("StorageClass {name}")).await
        }
        StorageOperation::DeleteClass { name } => delete_class(cluster()?, name).await,
        StorageOperation::ModifyVolume { .. } => modify_volume(aws, operation, progress).await,
        StorageOperation::ResizeClaim { .. } => {
            resize_claim(cluster()?, aws, operation, progress).await
        }
    }
}

/// Deletes a StorageClass (the first half of a replace); one already gone is fine.
async fn delete_class(cluster: &Cluster, name: &str) -> Result<()> {
    let api: Api<StorageClass> = Api::all(cluster.client().await?);
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        // Already gone (a re-run after an interrupted replace).
        Err(e) if api_status(&e) == Some(404) => Ok(()),
        Err(e) => bail!(
            "deleting StorageClass {name} failed: {}",
            describe_kube_error(&e)
        ),
    }
}

/// EC2 ModifyVolume, after a fresh look that the volume may be modified now, then the wait
/// until the modification completes.
async fn modify_volume(
    aws: &Aws,
    operation: &StorageOperation,
    progress: &StepProgress,
) -> Result<()> {
    let StorageOperation::ModifyVolume {
        claim,
        volume_id,
        volume_type,
        iops,
        throughput_mibps,
        size_gib,
    } = operation
    else {
        bail!("not a volume modification");
    };

    // The plan may be minutes old: look again before asking AWS.
    let current = read_ebs(aws, std::slice::from_ref(volume_id)).await?;
    if let Some(reason) = current.get(volume_id).and_then(busy) {
        bail!("skipped {claim}: {reason}");
    }
    progress.status(&format!("ModifyVolume {volume_id}"));
    let result = aws
        .ec2
        .modify_volume()
        .volume_id(volume_id)
        .set_volume_type(volume_type.as_deref().map(VolumeType::from))
        .set_iops(iops.map(to_i32).transpose()?)
        .set_throughput(throughput_mibps.map(to_i32).transpose()?)
        .set_size(size_gib.map(to_i32).transpose()?)
        .send()
        .await;
    let started = match result {
        // The modification this call started, by its start time: the one to wait for.
        Ok(output) => output
            .volume_modification()
            .and_then(|m| m.start_time())
            .and_then(epoch_millis),
        // A lost reply: the retry finds the modification it asked for under way.
        Err(e)
            if e.code() == Some("IncorrectModificationState")
                && asked_for_already(
                    aws,
                    volume_id,
                    volume_type,
                    *iops,
                    *throughput_mibps,
                    *size_gib,
                )
                .await =>
        {
            progress.note("the modification is already under way (an earlier attempt started it); waiting for it");
            None
        }
        Err(e)
            if matches!(
                e.code(),
                Some("IncorrectModificationState" | "VolumeModificationRateExceeded")
            ) =>
        {
            bail!(
                "skipped {claim}: AWS refused to modify {volume_id} now ({}); re-run apply later",
                describe_sdk_error(&e)
            )
        }
        Err(e) => bail!(
            "ModifyVolume {volume_id} ({claim}) failed: {}",
            describe_sdk_error(&e)
        ),
    };
    wait_for_modification(aws, volume_id, started, progress).await
}

/// Grows a claim by a merge patch of its request, then waits until its capacity follows.
async fn resize_claim(
    cluster: &Cluster,
    aws: &Aws,
    operation: &StorageOperation,
    progress: &StepProgress,
) -> Result<()> {
    let StorageOperation::ResizeClaim {
        namespace,
        claim,
        size_gib,
    } = operation
    else {
        bail!("not a claim resize");
    };

    let api: Api<PersistentVolumeClaim> = Api::namespaced(cluster.client().await?, namespace);
    progress.status(&format!("patch claim {claim} to {size_gib}Gi"));
    let patch = json!({"spec": {"resources": {"requests": {"storage": format!("{size_gib}Gi")}}}});
    api.patch(
        claim,
        &PatchParams {
            field_manager: Some(FIELD_MANAGER.to_string()),
            ..PatchParams::default()
        },
        &Patch::Merge(&patch),
    )
    .await
    .map_err(|e| {
        anyhow!(
            "growing claim {namespace}/{claim} failed: {}",
            describe_kube_error(&e)
        )
    })?;
    let wanted = u64::try_from(*size_gib).unwrap_or(0).saturating_mul(GIB);
    wait::until(
        &aws.wait,
        progress,
        &format!("claim {claim} to reach {size_gib}Gi"),
        || async {
            let pvc = api.get(claim).await.map_err(|e| {
                anyhow!(
                    "reading claim {namespace}/{claim} failed: {}",
                    describe_kube_error(&e)
                )
            })?;
            let status = pvc.status.unwrap_or_default();
            if let Some(failure) = resize_failure(&status) {
                bail!("growing claim {namespace}/{claim} failed: {failure}");
            }
            let capacity = status
                .capacity
                .as_ref()
                .and_then(|c| c.get("storage"))
                .and_then(|q| quantity_bytes(&q.0))
                .unwrap_or(0);
            // The volume is grown; the file system follows on the node.
            let node_pending = status
                .conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == "FileSystemResizePending");
            if capacity >= wanted || node_pending {
                Ok(Poll::Ready(()))
            } else {
                Ok(Poll::Pending(format!(
                    "claim {claim} capacity {}",
                    show_bytes(capacity)
                )))
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn quantities() {
        assert_eq!(quantity_bytes("500Gi"), Some(500 * GIB));
        assert_eq!(quantity_bytes("1Ti"), Some(1024 * GIB));
        assert_eq!(quantity_bytes("536870912000"), Some(500 * GIB));
        assert_eq!(quantity_bytes("1.5Gi"), Some(3 * GIB / 2));
        assert_eq!(quantity_bytes("12parsecs"), None);
    }

    fn class(parameters: &[(&str, &str)], expansion: bool) -> LiveClass {
        LiveClass {
            provisioner: EBS_CSI_PROVISIONER.into(),
            parameters: parameters
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            volume_binding_mode: "WaitForFirstConsumer".into(),
            allow_volume_expansion: expansion,
            reclaim_policy: "Delete".into(),
            mount_options: vec![],
            allowed_topologies: None,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            resource_version: None,
            object: serde_json::Value::Null,
        }
    }

    fn desired_class() -> ClassDefinition {
        ClassDefinition {
            name: "kafka-gp3".into(),
            parameters: [("type", "gp3"), ("iops", "6000"), ("encrypted", "true")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            reclaim_policy: None,
            stack: "s".into(),
        }
    }

    #[test]
    fn parameter_change_is_a_destructive_replace_and_expansion_an_update() {
        let same = class(
            &[("type", "gp3"), ("iops", "6000"), ("encrypted", "true")],
            true,
        );
        assert_eq!(
            plan_class(&desired_class(), Some(&same)).action,
            Action::NoOp
        );

        let no_expansion = class(
            &[("type", "gp3"), ("iops", "6000"), ("encrypted", "true")],
            false,
        );
        let change = plan_class(&desired_class(), Some(&no_expansion));
        assert_eq!(change.action, Action::Update);
        assert!(!change.destructive);

        let old_iops = class(
            &[("type", "gp3"), ("iops", "3000"), ("encrypted", "true")],
            true,
        );
        let change = plan_class(&desired_class(), Some(&old_iops));
        assert_eq!(change.action, Action::Replace);
        assert!(change.destructive);
        assert_eq!(
            change.diffs,
            vec![FieldDiff::new(
                "parameters.iops",
                Some("3000".into()),
                Some("6000".into())
            )]
        );
        assert!(change.hazards[0]
            .message
            .contains("keep their old settings"));
    }

    fn volume(requested_gib: u64, iops: i64, modification: Option<Modification>) -> LiveVolume {
        LiveVolume {
            claim: "data-kafka-broker-0".into(),
            requested_bytes: requested_gib * GIB,
            ebs: Some(EbsVolume {
                volume_id: "vol-1".into(),
                volume_type: "gp3".into(),
                size_gib: requested_gib as i64,
                iops: Some(iops),
                throughput_mibps: Some(250),
                last_modification: modification,
            }),
            auto_mode: false,
            resize_failure: None,
        }
    }

    fn desired_volume(size: i64) -> VolumeDefinition {
        VolumeDefinition {
            size_gib: Some(size),
            volume_type: Some("gp3".into()),
            iops: Some(6000),
            throughput_mibps: Some(250),
            parallelism: 1,
        }
    }

    #[test]
    fn shrink_is_refused_and_growth_with_new_iops_is_one_modification() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let (_, errors) = plan_volumes(
            &[desired_volume(400)],
            "kafka",
            &[volume(500, 6000, None)],
            false,
            "c",
            now,
        );
        assert!(errors[0].message.contains("would shrink"));

        let (changes, errors) = plan_volumes(
            &[desired_volume(600)],
            "kafka",
            &[volume(500, 3000, None)],
            false,
            "c",
            now,
        );
        assert!(errors.is_empty());
        let change = &changes[0];
        assert_eq!(change.action, Action::Update);
        assert_eq!(change.steps.len(), 2);
        match &crate::providers::operation_of::<StorageOperation>(&change.steps[0])
            .expect("decodes")
        {
            StorageOperation::ModifyVolume { iops, size_gib, .. } => {
                assert_eq!((*iops, *size_gib), (Some(6000), Some(600)));
            }
            other => panic!("expected ModifyVolume first, got {other:?}"),
        }
        assert!(change.deferred.is_none());
    }

    /// The deferral reason and hazards plan gives a volume at 3000 IOPS (wanted 6000) with
    /// this modification.
    fn deferral(modification: Modification) -> (String, Vec<String>) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100_000);
        let (changes, _) = plan_volumes(
            &[desired_volume(500)],
            "kafka",
            &[volume(500, 3000, Some(modification))],
            false,
            "c",
            now,
        );
        (
            changes[0].deferred.clone().unwrap_or_default(),
            changes[0]
                .hazards
                .iter()
                .map(|h| h.message.clone())
                .collect(),
        )
    }

    #[test]
    fn a_volume_still_modifying_is_deferred_and_a_recent_one_warned() {
        let (optimizing, _) = deferral(Modification {
            state: "optimizing".into(),
            progress: Some(40),
            started_epoch_seconds: Some(99_000),
            started_epoch_millis: None,
            targets: (None, None, None, None),
            status_message: None,
        });
        assert!(optimizing.contains("optimizing (40%)"), "{optimizing}");
        let (recent, hazards) = deferral(Modification {
            state: "completed".into(),
            progress: Some(100),
            started_epoch_seconds: Some(100_000 - 3600),
            started_epoch_millis: None,
            targets: (None, None, None, None),
            status_message: None,
        });
        assert_eq!(
            recent, "",
            "a completed modification does not block the next one"
        );
        assert!(
            hazards
                .iter()
                .any(|h| h.contains("4 modifications of a volume per rolling 24 h")),
            "{hazards:?}"
        );
        let (long_ago, hazards) = deferral(Modification {
            state: "completed".into(),
            progress: Some(100),
            started_epoch_seconds: Some(100_000 - 25 * 3600),
            started_epoch_millis: None,
            targets: (None, None, None, None),
            status_message: None,
        });
        assert_eq!(long_ago, "");
        assert!(hazards.is_empty(), "{hazards:?}");
    }

    #[test]
    fn gp3_ratios_are_checked_against_the_live_side_the_spec_leaves_out() {
        let now = SystemTime::UNIX_EPOCH;
        // 6000 IOPS on the live 10 GiB volume: over 500 IOPS per GiB.
        let (_, errors) = plan_volumes(
            &[VolumeDefinition {
                size_gib: None,
                ..desired_volume(10)
            }],
            "kafka",
            &[volume(10, 3000, None)],
            false,
            "c",
            now,
        );
        assert!(
            errors[0].message.contains("exceeds gp3's 500 IOPS per GiB"),
            "{:?}",
            errors
        );
        // 1000 MiB/s on the live 3000 IOPS: over 0.25 MiB/s per IOPS.
        let (_, errors) = plan_volumes(
            &[VolumeDefinition {
                iops: None,
                throughput_mibps: Some(1000),
                ..desired_volume(500)
            }],
            "kafka",
            &[volume(500, 3000, None)],
            false,
            "c",
            now,
        );
        assert!(
            errors[0].message.contains("per provisioned IOPS"),
            "{:?}",
            errors
        );
    }
}
