//! The brokers' live volumes: each claim of the broker StatefulSet, its PersistentVolume and the EBS volume behind it (one filtered DescribeVolumes and one DescribeVolumesModifications for all), the diff (claim growth, ModifyVolume under AWS's completed-and-four-a-day rule), and the waits until a modification completes.

use super::*;

/// What every broker volume should be.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VolumeDefinition {
    pub size_gib: Option<i64>,
    pub volume_type: Option<String>,
    pub iops: Option<i64>,
    pub throughput_mibps: Option<i64>,
    /// How many volumes are modified at once.
    pub parallelism: usize,
}

impl VolumeDefinition {
    /// Leaves one field alone (an `[[ignore]]` rule): it is neither compared nor changed.
    pub fn ignore(&mut self, field: &str) {
        match field {
            "size" => self.size_gib = None,
            "volume_type" => self.volume_type = None,
            "iops" => self.iops = None,
            "throughput_mibps" => self.throughput_mibps = None,
            _ => {}
        }
    }

    pub fn from_spec(storage: &crate::kinds::brokers::section::KafkaStorage) -> Self {
        VolumeDefinition {
            size_gib: storage.volume_size_gib.as_ref().map(|v| *v.get_ref()),
            volume_type: Some(storage.volume_type.get_ref().clone()),
            iops: storage.iops.as_ref().map(|v| *v.get_ref()),
            throughput_mibps: storage.throughput_mibps.as_ref().map(|v| *v.get_ref()),
            parallelism: storage
                .max_parallel_volume_changes
                .as_ref()
                .map(|v| *v.get_ref())
                .unwrap_or(1)
                .max(1) as usize,
        }
    }
}

/// One broker volume: the claim, and the EBS volume behind it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LiveVolume {
    pub claim: String,
    pub requested_bytes: u64,
    pub ebs: Option<EbsVolume>,
    /// Provisioned by EKS Auto Mode's EBS provisioner, which manages the volume itself.
    #[serde(default)]
    pub auto_mode: bool,
    /// Why Kubernetes could not resize the claim (`resize_failure`). Not part of a saved plan's
    /// fingerprint: health moves by itself.
    #[serde(skip)]
    pub resize_failure: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EbsVolume {
    pub volume_id: String,
    pub volume_type: String,
    pub size_gib: i64,
    pub iops: Option<i64>,
    pub throughput_mibps: Option<i64>,
    /// The latest modification AWS reports for this volume.
    pub last_modification: Option<Modification>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Modification {
    pub state: String,
    /// Not part of a saved plan's fingerprint: it moves by itself.
    #[serde(skip)]
    pub progress: Option<i64>,
    pub started_epoch_seconds: Option<i64>,
    /// The same start time in milliseconds, to tell two modifications of one second apart.
    #[serde(skip)]
    pub started_epoch_millis: Option<i64>,
    /// What the modification asked for: type, IOPS, throughput, size (GiB).
    #[serde(default)]
    pub targets: (Option<String>, Option<i64>, Option<i64>, Option<i64>),
    /// EC2's `StatusMessage`: why a `failed` modification failed.
    #[serde(skip)]
    pub status_message: Option<String>,
}

pub(super) fn epoch_millis(time: &aws_smithy_types::DateTime) -> Option<i64> {
    time.to_millis().ok()
}

/// Bytes in a Kubernetes quantity ("500Gi", "1Ti", "536870912000", "500G").
pub fn quantity_bytes(quantity: &str) -> Option<u64> {
    let quantity = quantity.trim();
    let split = quantity
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(quantity.len());
    let (number, unit) = quantity.split_at(split);
    let multiplier: u64 = match unit {
        "" => 1,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "Pi" => 1 << 50,
        _ => return None,
    };
    let value: f64 = number.parse().ok()?;
    Some((value * multiplier as f64).round() as u64)
}

pub(super) fn show_bytes(bytes: u64) -> String {
    if bytes.is_multiple_of(GIB) {
        format!("{}Gi", bytes / GIB)
    } else {
        format!("{:.1}Gi", bytes as f64 / GIB as f64)
    }
}

/// The broker volumes of `statefulset` made from templates of class `class_name`, by ordinal.
pub async fn read_volumes(
    cluster: &Cluster,
    aws: &Aws,
    statefulset: &StatefulSet,
    class_name: &str,
) -> Result<Vec<LiveVolume>> {
    let templates = claim_templates(statefulset, class_name);
    if templates.is_empty() {
        return Ok(vec![]);
    }
    let sts_name = statefulset.metadata.name.clone().unwrap_or_default();
    let client = cluster.client().await?;
    let claims = broker_claims(cluster, client.clone(), &templates, &sts_name).await?;
    let handles = volume_handles(client, &claims).await?;
    let ids: Vec<String> = handles
        .iter()
        .flatten()
        .filter(|(driver, _)| is_ebs_provisioner(driver))
        .map(|(_, id)| id.clone())
        .collect();
    let ebs = read_ebs(aws, &ids).await?;
    Ok(claims
        .into_iter()
        .zip(handles)
        .map(|(BrokerClaim { name, claim, .. }, handle)| LiveVolume {
            requested_bytes: requested_bytes(&claim),
            resize_failure: claim.status.as_ref().and_then(resize_failure),
            auto_mode: handle
                .as_ref()
                .is_some_and(|(driver, _)| driver == EKS_AUTO_MODE_PROVISIONER),
            ebs: handle
                .filter(|(driver, _)| is_ebs_provisioner(driver))
                .and_then(|(_, id)| ebs.get(&id).cloned()),
            claim: name,
        })
        .collect())
}

/// The names of the StatefulSet's claim templates of this StorageClass.
fn claim_templates(statefulset: &StatefulSet, class_name: &str) -> Vec<String> {
    statefulset
        .spec
        .as_ref()
        .and_then(|s| s.volume_claim_templates.as_ref())
        .into_iter()
        .flatten()
        .filter(|t| {
            t.spec
                .as_ref()
                .and_then(|s| s.storage_class_name.as_deref())
                == Some(class_name)
        })
        .filter_map(|t| t.metadata.name.clone())
        .collect()
}

/// A claim the StatefulSet made from one of its templates (`TEMPLATE-STATEFULSET-ORDINAL`).
struct BrokerClaim {
    name: String,
    ordinal: u64,
    claim: PersistentVolumeClaim,
}

/// The StatefulSet's claims, in the order of their ordinals (one LIST of the namespace).
async fn broker_claims(
    cluster: &Cluster,
    client: kube::Client,
    templates: &[String],
    sts_name: &str,
) -> Result<Vec<BrokerClaim>> {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client, &cluster.namespace);
    let list = claims.list(&ListParams::default()).await.map_err(|e| {
        anyhow!(
            "listing PersistentVolumeClaims in {} failed: {}",
            cluster.namespace,
            describe_kube_error(&e)
        )
    })?;
    let mut matching: Vec<BrokerClaim> = list
        .items
        .into_iter()
        .filter_map(|claim| {
            let name = claim.metadata.name.clone()?;
            let ordinal = templates.iter().find_map(|t| {
                name.strip_prefix(&format!("{t}-{sts_name}-"))
                    .and_then(|rest| rest.parse::<u64>().ok())
            })?;
            Some(BrokerClaim {
                name,
                ordinal,
                claim,
            })
        })
        .collect();
    matching.sort_by(|a, b| (a.ordinal, &a.name).cmp(&(b.ordinal, &b.name)));
    Ok(matching)
}

/// Each claim's volume as its CSI driver and volume handle (a GET per bound volume, at once);
/// None for a claim not bound or a volume without CSI.
async fn volume_handles(
    client: kube::Client,
    claims: &[BrokerClaim],
) -> Result<Vec<Option<(String, String)>>> {
    let volumes: Api<PersistentVolume> = Api::all(client);
    try_join_all(claims.iter().map(|BrokerClaim { name, claim, .. }| {
        let volumes = volumes.clone();
        async move {
            let Some(pv_name) = claim.spec.as_ref().and_then(|s| s.volume_name.clone()) else {
                return Ok::<Option<(String, String)>, anyhow::Error>(None);
            };
            let pv = volumes.get_opt(&pv_name).await.map_err(|e| {
                anyhow!(
                    "reading PersistentVolume {pv_name} (claim {name}) failed: {}",
                    describe_kube_error(&e)
                )
            })?;
            Ok(pv
                .and_then(|pv| pv.spec)
                .and_then(|spec| spec.csi)
                .map(|csi| (csi.driver, csi.volume_handle)))
        }
    }))
    .await
}

/// The storage the claim requests, in bytes (0 when it says none).
fn requested_bytes(claim: &PersistentVolumeClaim) -> u64 {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .and_then(|q| quantity_bytes(&q.0))
        .unwrap_or(0)
}

/// DescribeVolumes and DescribeVolumesModifications for all broker volumes in two calls.
pub(super) async fn read_ebs(aws: &Aws, ids: &[String]) -> Result<BTreeMap<String, EbsVolume>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let filter = Filter::builder()
        .name("volume-id")
        .set_values(Some(ids.to_vec()))
        .build();
    // A volume-id filter, not VolumeIds: EC2 charges unfiltered, unpaginated DescribeVolumes to
    // a bucket half the size (50, refilled 10 per second) and advises filters. The two reads are
    // independent: one round trip.
    let read_volumes = async {
        aws.ec2
            .describe_volumes()
            .filters(filter.clone())
            .send()
            .await
            .map_err(|e| anyhow!("DescribeVolumes failed: {}", describe_sdk_error(&e)))
    };
    // A filter, not VolumeIds: AWS answers an error for a volume that was never modified
    // when it is named in VolumeIds.
    let read_modifications = async {
        aws.ec2
            .describe_volumes_modifications()
            .filters(filter.clone())
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "DescribeVolumesModifications failed: {}",
                    describe_sdk_error(&e)
                )
            })
    };
    let (volumes, modifications) = tokio::try_join!(read_volumes, read_modifications)?;
    let mut latest: BTreeMap<String, Modification> = BTreeMap::new();
    for m in modifications.volumes_modifications() {
        let Some(id) = m.volume_id() else { continue };
        let started = m.start_time().map(|t| t.secs());
        let started_millis = m.start_time().and_then(epoch_millis);
        let newer = latest
            .get(id)
            .is_none_or(|existing| existing.started_epoch_millis < started_millis);
        if newer {
            latest.insert(
                id.to_string(),
                Modification {
                    state: m
                        .modification_state()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_else(|| "unknown".into()),
                    progress: m.progress(),
                    status_message: m.status_message().map(str::to_string),
                    started_epoch_seconds: started,
                    started_epoch_millis: started_millis,
                    targets: (
                        m.target_volume_type().map(|t| t.as_str().to_string()),
                        m.target_iops().map(i64::from),
                        m.target_throughput().map(i64::from),
                        m.target_size().map(i64::from),
                    ),
                },
            );
        }
    }
    Ok(volumes
        .volumes()
        .iter()
        .filter_map(|v| {
            let id = v.volume_id()?.to_string();
            Some((
                id.clone(),
                EbsVolume {
                    volume_type: v
                        .volume_type()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                    size_gib: v.size().map(i64::from).unwrap_or(0),
                    iops: v.iops().map(i64::from),
                    throughput_mibps: v.throughput().map(i64::from),
                    last_modification: latest.remove(&id),
                    volume_id: id,
                },
            ))
        })
        .collect())
}

/// Changes for each broker volume. Shrinking is a plan error; a volume whose previous
/// modification has not completed is deferred.
pub fn plan_volumes(
    desired: &[VolumeDefinition],
    namespace: &str,
    live: &[LiveVolume],
    class_changes: bool,
    class_name: &str,
    now: SystemTime,
) -> (Vec<Change>, Vec<PlanError>) {
    let mut changes = vec![];
    let mut errors = vec![];
    let now_secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    for (index, (volume, desired)) in live.iter().zip(desired).enumerate() {
        let lane = format!(
            "{SLOT_LANE_PREFIX}eks:volumes:{}",
            index % desired.parallelism.max(1)
        );
        match plan_volume(volume, desired, namespace, now_secs, lane) {
            Ok(change) => changes.push(Change {
                after_lane: class_changes.then(|| class_lane(class_name)),
                ..change
            }),
            Err(error) => errors.push(error),
        }
    }
    (changes, errors)
}

/// One broker volume: its growth through its claim, its type, IOPS and throughput through
/// ModifyVolume (deferred while the previous modification is still running).
fn plan_volume(
    volume: &LiveVolume,
    desired: &VolumeDefinition,
    namespace: &str,
    now_secs: i64,
    lane: String,
) -> Result<Change, PlanError> {
    let id = ResourceId::new(VOLUME, format!("{namespace}/{}", volume.claim));
    let (size_diff, grow_to) = plan_growth(volume, desired, &id)?;
    let mut performance = match &volume.ebs {
        None => EbsPlan {
            hazards: vec![Hazard {
                message: format!(
                    "claim {} is not bound to an EBS CSI volume: its type, IOPS and throughput cannot be checked",
                    volume.claim
                ),
            }],
            ..EbsPlan::default()
        },
        Some(ebs) => plan_ebs(volume, desired, ebs, &id, grow_to.is_some(), now_secs)?,
    };
    let mut diffs: Vec<FieldDiff> = size_diff.into_iter().collect();
    diffs.append(&mut performance.diffs);
    let mut steps: Vec<Step> = performance.step.into_iter().collect();
    let mut hazards = performance.hazards;
    if let Some(size_gib) = grow_to {
        steps.push(step(
            format!("grow claim {} to {size_gib}Gi", volume.claim),
            StorageOperation::ResizeClaim {
                namespace: namespace.to_string(),
                claim: volume.claim.clone(),
                size_gib,
            },
        ));
        hazards.push(Hazard {
            message: "the file system grows when the CSI node plugin resizes it (online for ext4 and xfs)".into(),
        });
    }
    let action = if steps.is_empty() && performance.deferred.is_none() {
        Action::NoOp
    } else {
        Action::Update
    };
    Ok(Change {
        diffs,
        hazards,
        deferred: performance.deferred,
        steps,
        unhealthy: volume_health(volume),
        ..Change::new(id, action, lane)
    })
}

/// Whether the volume got what was last asked of it: Kubernetes' resize failure on the claim,
/// or EC2's `failed` modification with its `StatusMessage`.
fn volume_health(volume: &LiveVolume) -> Option<Unhealthy> {
    if let Some(failure) = &volume.resize_failure {
        return Some(Unhealthy {
            reason: format!("resizing claim {} failed: {failure}", volume.claim),
            help: "the claim asks for more than the volume has: fix the cause the CSI driver reports (kubectl describe pvc), and the resizer retries; an Infeasible resize needs the claim's request set back by an administrator (Kubernetes' RecoverVolumeExpansionFailure)".into(),
        });
    }
    let ebs = volume.ebs.as_ref()?;
    let modification = ebs
        .last_modification
        .as_ref()
        .filter(|m| m.state == "failed")?;
    let why = modification
        .status_message
        .as_ref()
        .map(|message| format!(": {message}"))
        .unwrap_or_default();
    Some(Unhealthy {
        reason: format!(
            "the last modification of EBS volume {} failed{why}",
            ebs.volume_id
        ),
        help: format!(
            "the volume kept its previous settings: fix the cause (aws ec2 describe-volumes-modifications --volume-ids {}), and apply again asks for the file's settings",
            ebs.volume_id
        ),
    })
}

/// The size the claim grows to, with its diff; shrinking is an error (volumes only grow).
fn plan_growth(
    volume: &LiveVolume,
    desired: &VolumeDefinition,
    id: &ResourceId,
) -> Result<(Option<FieldDiff>, Option<i64>), PlanError> {
    let wanted_bytes = desired
        .size_gib
        .map(|g| u64::try_from(g).unwrap_or(0).saturating_mul(GIB));
    match wanted_bytes {
        Some(wanted) if wanted < volume.requested_bytes => Err(PlanError {
            resource: id.to_string(),
            message: format!(
                "volume_size_gib = {} would shrink claim {} ({}); volumes can only grow",
                desired.size_gib.unwrap_or_default(),
                volume.claim,
                show_bytes(volume.requested_bytes)
            ),
            help: format!(
                "set [kafka.storage] volume_size_gib to at least {}",
                volume.requested_bytes.div_ceil(GIB)
            ),
        }),
        Some(wanted) if wanted > volume.requested_bytes => Ok((
            Some(FieldDiff::new(
                "size",
                Some(show_bytes(volume.requested_bytes)),
                Some(show_bytes(wanted)),
            )),
            desired.size_gib,
        )),
        _ => Ok((None, None)),
    }
}

/// What the EBS volume behind a claim needs: the diffs of its type, IOPS and throughput, the
/// ModifyVolume that sets them, why it waits (if it does), and the hazards.
#[derive(Default)]
struct EbsPlan {
    diffs: Vec<FieldDiff>,
    step: Option<Step>,
    deferred: Option<String>,
    hazards: Vec<Hazard>,
}

fn plan_ebs(
    volume: &LiveVolume,
    desired: &VolumeDefinition,
    ebs: &EbsVolume,
    id: &ResourceId,
    grows: bool,
    now_secs: i64,
) -> Result<EbsPlan, PlanError> {
    let volume_type = desired
        .volume_type
        .clone()
        .filter(|t| *t != ebs.volume_type);
    let iops = desired.iops.filter(|i| Some(*i) != ebs.iops);
    let throughput = desired
        .throughput_mibps
        .filter(|t| Some(*t) != ebs.throughput_mibps);
    let mut plan = EbsPlan::default();
    for (field, before, after) in [
        (
            "volume_type",
            Some(ebs.volume_type.clone()),
            volume_type.clone(),
        ),
        (
            "iops",
            ebs.iops.map(|v| v.to_string()),
            iops.map(|v| v.to_string()),
        ),
        (
            "throughput_mibps",
            ebs.throughput_mibps.map(|v| v.to_string()),
            throughput.map(|v| v.to_string()),
        ),
    ] {
        if after.is_some() {
            plan.diffs.push(FieldDiff::new(field, before, after));
        }
    }
    if let Some(error) = gp3_ratio_error(desired, ebs, id) {
        return Err(error);
    }
    let performance = volume_type.is_some() || iops.is_some() || throughput.is_some();
    if performance && volume.auto_mode {
        plan.deferred = Some(format!(
            "claim {} is an EKS Auto Mode volume ({EKS_AUTO_MODE_PROVISIONER}): EKS manages {}, so pipectl does not call ModifyVolume on it; new volumes get the StorageClass's settings (add an [[ignore]] rule for this volume's fields to silence this)",
            volume.claim, ebs.volume_id
        ));
    } else if performance {
        // One modification carries the growth too, so the resizer has nothing left to do.
        let size_gib = desired.size_gib.filter(|s| *s > ebs.size_gib);
        plan.step = Some(step(
            format!("ModifyVolume {} ({})", ebs.volume_id, volume.claim),
            StorageOperation::ModifyVolume {
                claim: volume.claim.clone(),
                volume_id: ebs.volume_id.clone(),
                volume_type,
                iops,
                throughput_mibps: throughput,
                size_gib,
            },
        ));
    }
    if plan.deferred.is_none() && (performance || grows) {
        plan.deferred = busy(ebs);
    }
    if performance && plan.deferred.is_none() {
        plan.hazards.extend(daily_limit_hazard(ebs, now_secs));
    }
    Ok(plan)
}

/// gp3's ratios checked against what the volume will be: the spec's size, IOPS and
/// throughput where it gives them, the live volume's where it does not (validation alone can
/// check only the pairs the spec gives both sides of).
pub(super) fn gp3_ratio_error(
    desired: &VolumeDefinition,
    ebs: &EbsVolume,
    id: &ResourceId,
) -> Option<PlanError> {
    let volume_type = desired.volume_type.as_deref().unwrap_or(&ebs.volume_type);
    if volume_type != "gp3" {
        return None;
    }
    let size = desired.size_gib.unwrap_or(ebs.size_gib).max(ebs.size_gib);
    let iops = desired.iops.or(ebs.iops)?;
    let iops_ceiling = size.checked_mul(limits::GP3_MAX_IOPS_PER_GIB)?;
    if iops > iops_ceiling {
        return Some(PlanError {
            resource: id.to_string(),
            message: format!(
                "{iops} IOPS exceeds gp3's {} IOPS per GiB for {} at {size} GiB ({iops_ceiling})",
                limits::GP3_MAX_IOPS_PER_GIB,
                ebs.volume_id
            ),
            help: format!(
                "lower [kafka.storage] iops to {iops_ceiling} or set volume_size_gib to at least {}",
                (iops as u64).div_ceil(limits::GP3_MAX_IOPS_PER_GIB as u64)
            ),
        });
    }
    let throughput = desired.throughput_mibps.or(ebs.throughput_mibps)?;
    let throughput_ceiling = (iops as f64 * limits::GP3_MAX_THROUGHPUT_PER_IOPS) as i64;
    (throughput > throughput_ceiling).then(|| PlanError {
        resource: id.to_string(),
        message: format!(
            "{throughput} MiB/s exceeds gp3's {} MiB/s per provisioned IOPS for {} at {iops} IOPS ({throughput_ceiling})",
            limits::GP3_MAX_THROUGHPUT_PER_IOPS,
            ebs.volume_id
        ),
        help: format!(
            "lower [kafka.storage] throughput_mibps to {throughput_ceiling} or raise iops to at least {}",
            (throughput as f64 / limits::GP3_MAX_THROUGHPUT_PER_IOPS).ceil() as i64
        ),
    })
}

/// Why a volume cannot be modified now, if it cannot: its latest modification has not
/// completed (AWS refuses another until it has).
pub(super) fn busy(ebs: &EbsVolume) -> Option<String> {
    let modification = ebs.last_modification.as_ref()?;
    matches!(modification.state.as_str(), "modifying" | "optimizing").then(|| {
        format!(
            "the previous modification of {} is still {}{}; re-run apply when it has completed",
            ebs.volume_id,
            modification.state,
            modification
                .progress
                .map(|p| format!(" ({p}%)"))
                .unwrap_or_default()
        )
    })
}

/// A warning when the volume was modified within the last 24 hours: AWS allows a few
/// modifications per volume per rolling day, and DescribeVolumesModifications shows only the
/// latest, so pipectl cannot count them; AWS's refusal is reported if it comes.
pub(super) fn daily_limit_hazard(ebs: &EbsVolume, now_secs: i64) -> Option<Hazard> {
    let started = ebs.last_modification.as_ref()?.started_epoch_seconds?;
    let hours = now_secs.saturating_sub(started) / 3600;
    (hours < 24).then(|| Hazard {
        message: format!(
            "{} was last modified {hours} h ago; AWS allows {} modifications of a volume per rolling 24 h and may refuse this one (apply then reports it; re-run later)",
            ebs.volume_id,
            limits::EBS_MODIFICATIONS_PER_VOLUME_PER_DAY
        ),
    })
}

/// A resize Kubernetes reports as failed: the resizer gave up
/// (`allocatedResourceStatuses` `ControllerResizeInfeasible`/`NodeResizeInfeasible`) or keeps
/// failing (a `ControllerResizeError`/`NodeResizeError` condition). Waiting would take hours
/// and change nothing, so it is reported at once with Kubernetes' message.
pub(super) fn resize_failure(
    status: &k8s_openapi::api::core::v1::PersistentVolumeClaimStatus,
) -> Option<String> {
    let infeasible = status
        .allocated_resource_statuses
        .as_ref()
        .and_then(|s| s.get("storage"))
        .filter(|s| s.ends_with("Infeasible"));
    let error = status.conditions.iter().flatten().find(|c| {
        c.status == "True"
            && matches!(
                c.type_.as_str(),
                "ControllerResizeError" | "NodeResizeError"
            )
    });
    if infeasible.is_none() && error.is_none() {
        return None;
    }
    let mut parts = vec![];
    if let Some(state) = infeasible {
        parts.push(format!("{state} (Kubernetes will not retry it)"));
    }
    if let Some(condition) = error {
        parts.push(format!(
            "{}: {}",
            condition.type_,
            condition.message.as_deref().unwrap_or("no message")
        ));
    }
    Some(format!(
        "{}; see `kubectl describe pvc` and the EBS CSI controller's logs",
        parts.join("; ")
    ))
}

/// Whether the volume's latest modification asks for exactly these settings (each one the
/// call sets).
pub(super) async fn asked_for_already(
    aws: &Aws,
    volume_id: &str,
    volume_type: &Option<String>,
    iops: Option<i64>,
    throughput: Option<i64>,
    size_gib: Option<i64>,
) -> bool {
    let Ok(current) = read_ebs(aws, &[volume_id.to_string()]).await else {
        return false;
    };
    let Some(modification) = current
        .get(volume_id)
        .and_then(|v| v.last_modification.as_ref())
    else {
        return false;
    };
    let (target_type, target_iops, target_throughput, target_size) = &modification.targets;
    volume_type
        .as_ref()
        .is_none_or(|t| target_type.as_ref() == Some(t))
        && iops.is_none_or(|i| *target_iops == Some(i))
        && throughput.is_none_or(|t| *target_throughput == Some(t))
        && size_gib.is_none_or(|s| *target_size == Some(s))
}

/// Waits until the modification that started at `started` has left `modifying`: in
/// `optimizing` the volume already has its new size and its performance moves to the new
/// settings (that can take hours). An older modification that DescribeVolumesModifications
/// may still report first is not mistaken for it.
pub(super) async fn wait_for_modification(
    aws: &Aws,
    volume_id: &str,
    started: Option<i64>,
    progress: &StepProgress,
) -> Result<()> {
    wait::until(
        &aws.wait,
        progress,
        &format!("modification of {volume_id}"),
        || async {
            let current = read_ebs(aws, &[volume_id.to_string()]).await?;
            let modification = current
                .get(volume_id)
                .and_then(|v| v.last_modification.clone())
                .filter(|m| started.is_none() || m.started_epoch_millis >= started);
            let Some(modification) = modification else {
                return Ok(Poll::Pending(format!(
                    "waiting for AWS to report the modification of {volume_id}"
                )));
            };
            match VolumeModificationState::from(modification.state.as_str()) {
                VolumeModificationState::Modifying => {
                    progress.percent(
                        modification.progress.unwrap_or(0).max(0) as u64,
                        &format!("{volume_id} modifying"),
                    );
                    Ok(Poll::Pending(format!(
                        "{volume_id} modifying{}",
                        modification
                            .progress
                            .map(|p| format!(" {p}%"))
                            .unwrap_or_default()
                    )))
                }
                VolumeModificationState::Failed => {
                    bail!("the modification of {volume_id} failed; AWS restored its previous settings")
                }
                _ => Ok(Poll::Ready(())),
            }
        },
    )
    .await
}
