//! `pipectl import --statefulset NAMESPACE/NAME [--storage-class NAME]`: the broker StatefulSet,
//! the HPA that scales it and its volumes' StorageClass, written as `[kafka.brokers]` and
//! `[kafka.storage]`.

use std::collections::BTreeMap;

use anyhow::{anyhow, Context, Result};

use super::hpa::{self, LiveAutoscaler, ScaleDownPolicy};
use super::{limits, storage};
use crate::kinds::kind::{ImportContext, ImportedPart};
use crate::spec::write::{quoted, ImportFlag, StackWriter};

pub const FLAGS: &[ImportFlag] = &[
    ImportFlag {
        long: "statefulset",
        value_name: "NAMESPACE/NAME",
        help: "The Kafka broker StatefulSet, with the HPA that scales it and its volumes' StorageClass",
        repeatable: false,
        selects: true,
    },
    ImportFlag {
        long: "storage-class",
        value_name: "NAME",
        help: "The brokers' StorageClass, when not the one their volume claim template names",
        repeatable: false,
        selects: false,
    },
];

/// The brokers in the terms of the stack file.
#[derive(Debug)]
struct ImportedKafka {
    namespace: String,
    statefulset: String,
    replicas: i64,
    autoscaler: Option<(String, LiveAutoscaler)>,
    storage: Option<ImportedStorage>,
}

#[derive(Debug)]
struct ImportedStorage {
    class_name: String,
    class: storage::LiveClass,
    /// The size each broker's claim requests, in GiB, by claim.
    claim_sizes_gib: BTreeMap<String, i64>,
}

pub async fn import(context: &ImportContext<'_>) -> Result<Option<ImportedPart>> {
    let Some(given) = context.values.one("statefulset") else {
        return Ok(None);
    };
    let kafka = read_kafka(context, given).await?;
    let mut out = StackWriter::default();
    brokers(&mut out, &kafka);
    if let Some(storage) = &kafka.storage {
        broker_storage(&mut out, &kafka, storage);
    }
    Ok(Some(ImportedPart {
        writer: out,
        namespace: Some(kafka.namespace),
    }))
}

/// The broker StatefulSet, the HPA that scales it, and its StorageClass and volumes.
async fn read_kafka(context: &ImportContext<'_>, given: &str) -> Result<ImportedKafka> {
    let (cluster, namespace, name) = context
        .cluster_for(
            given,
            "--statefulset takes NAMESPACE/NAME, e.g. kafka/kafka-broker",
        )
        .await?;
    let statefulset = hpa::read_statefulset(&cluster, name)
        .await?
        .ok_or_else(|| anyhow!("StatefulSet {given} does not exist"))?;
    let replicas = statefulset
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .map(i64::from)
        .unwrap_or(1);
    let autoscaler = hpa::find_for_statefulset(&cluster, name).await?;
    let class_name = context
        .values
        .one("storage-class")
        .map(str::to_string)
        .or_else(|| {
            statefulset
                .spec
                .as_ref()?
                .volume_claim_templates
                .as_ref()?
                .iter()
                .find_map(|t| t.spec.as_ref()?.storage_class_name.clone())
        });
    let storage = match class_name {
        Some(class_name) => {
            let class = storage::read_class(&cluster, &class_name)
                .await?
                .with_context(|| format!("StorageClass {class_name} does not exist"))?;
            let volumes =
                storage::read_volumes(&cluster, context.aws, &statefulset, &class_name).await?;
            let claim_sizes_gib = volumes
                .iter()
                .map(|v| (v.claim.clone(), (v.requested_bytes >> 30) as i64))
                .collect();
            Some(ImportedStorage {
                class_name,
                class,
                claim_sizes_gib,
            })
        }
        None => None,
    };
    Ok(ImportedKafka {
        namespace: namespace.to_string(),
        statefulset: name.to_string(),
        replicas,
        autoscaler,
        storage,
    })
}

fn brokers(out: &mut StackWriter, kafka: &ImportedKafka) {
    let sts = format!("StatefulSet {}/{}", kafka.namespace, kafka.statefulset);
    out.line("");
    let Some((hpa_name, hpa)) = &kafka.autoscaler else {
        out.line(&format!(
            "# {sts} ({} replicas) has no HorizontalPodAutoscaler: [kafka.brokers] would create one.",
            kafka.replicas
        ));
        out.flag(format!(
            "{sts}: no HorizontalPodAutoscaler scales it; [kafka.brokers] is left out"
        ));
        return;
    };
    out.line(&format!(
        "# From HorizontalPodAutoscaler {}/{hpa_name}, which scales {sts} ({} replicas now).",
        kafka.namespace, kafka.replicas
    ));
    let Some(cpu) = hpa.target_cpu_utilization else {
        out.flag(format!(
            "{sts}: its HPA {hpa_name} has no CPU utilization target, which [kafka.brokers] needs; left out"
        ));
        out.line("# Left out: the HPA has no CPU utilization target, which [kafka.brokers] needs.");
        return;
    };
    out.line("[kafka.brokers]");
    out.key("statefulset", quoted(&kafka.statefulset));
    out.key("hpa_name", quoted(hpa_name));
    out.key("min_replicas", hpa.min_replicas);
    out.key("max_replicas", hpa.max_replicas);
    if hpa.other_metrics > 0 {
        out.review(
            &format!("HPA {hpa_name}"),
            &format!(
                "it has {} metric(s) besides CPU, which pipectl's HPA does not keep: the first apply removes them",
                hpa.other_metrics
            ),
        );
    }
    out.key("target_cpu_utilization", cpu);
    let replication = hpa.min_replicas.clamp(1, 3);
    out.review(
        &format!("HPA {hpa_name}"),
        "Kubernetes does not know the topics' replication factor: set replication_factor to theirs (kafka-topics.sh --describe); min_replicas must not be below it",
    );
    out.key("replication_factor", replication);
    scale_down(out, kafka, hpa_name, hpa);
}

fn scale_down(out: &mut StackWriter, kafka: &ImportedKafka, hpa_name: &str, hpa: &LiveAutoscaler) {
    let ScaleDownPolicy::Enabled {
        stabilization_window_seconds: window,
    } = hpa.scale_down
    else {
        out.key("scale_down", "{ enabled = false }");
        return;
    };
    let what = format!("HPA {hpa_name}");
    let risk = "removing a broker that holds replicas under-replicates partitions";
    if (limits::HPA_STABILIZATION_WINDOW.min..=limits::HPA_STABILIZATION_WINDOW.max)
        .contains(&window)
    {
        out.review(
            &what,
            &format!("scale-down is enabled (window {window}s): {risk}; pipectl's safe setting is {{ enabled = false }}"),
        );
        out.key(
            "scale_down",
            format!("{{ enabled = true, stabilization_window_seconds = {window} }}"),
        );
        return;
    }
    // A window pipectl does not accept for brokers cannot be written as it is: the file asks
    // for the safe setting and an [[ignore]] rule keeps the live one until someone decides.
    out.review(
        &what,
        &format!(
            "scale-down is enabled with a {window}s window ({risk}; pipectl accepts {}-{}s): the file asks for {{ enabled = false }} and an [[ignore]] rule at the end keeps the live setting; remove the rule to apply it",
            limits::KAFKA_MIN_SCALE_DOWN_WINDOW_SECONDS,
            limits::HPA_STABILIZATION_WINDOW.max
        ),
    );
    out.key("scale_down", "{ enabled = false }");
    out.ignore(
        format!("eks.hpa.{}/{hpa_name}", kafka.namespace),
        "scale_down",
        format!(
            "imported: scale-down enabled with a {window}s window; decide, then remove this rule"
        ),
    );
}

/// The StorageClass parameters a stack file holds.
const CLASS_PARAMETERS: &[&str] = &["type", "iops", "throughput", "encrypted", "kmsKeyId"];

fn broker_storage(out: &mut StackWriter, kafka: &ImportedKafka, storage: &ImportedStorage) {
    let class = &storage.class;
    out.line("");
    out.line(&format!(
        "# From StorageClass {} and the {} volume claim(s) of StatefulSet {}/{}.",
        storage.class_name,
        storage.claim_sizes_gib.len(),
        kafka.namespace,
        kafka.statefulset
    ));
    out.line("[kafka.storage]");
    out.key("storage_class", quoted(&storage.class_name));
    if class.provisioner != "ebs.csi.aws.com" {
        out.review(
            &format!("StorageClass {}", storage.class_name),
            &format!(
                "its provisioner is {}, not the EBS CSI driver (ebs.csi.aws.com) pipectl writes",
                class.provisioner
            ),
        );
    }
    let parameter = |name: &str| class.parameters.get(name).cloned();
    out.key(
        "volume_type",
        quoted(&parameter("type").unwrap_or_else(|| "gp3".to_string())),
    );
    if let Some(iops) = parameter("iops") {
        out.key("iops", iops);
    }
    if let Some(throughput) = parameter("throughput") {
        out.key("throughput_mibps", throughput);
    }
    out.key(
        "encrypted",
        parameter("encrypted").is_some_and(|e| e.eq_ignore_ascii_case("true")),
    );
    if let Some(key) = parameter("kmsKeyId") {
        out.key("kms_key_id", quoted(&key));
    }
    out.key("reclaim_policy", quoted(&class.reclaim_policy));
    let others: Vec<String> = class
        .parameters
        .iter()
        .filter(|(k, _)| !CLASS_PARAMETERS.iter().any(|p| p.eq_ignore_ascii_case(k)))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !others.is_empty() {
        let why = format!(
            "the class also has {}, which a stack file cannot hold: the first plan replaces the class without it",
            others.join(", ")
        );
        out.review(&format!("StorageClass {}", storage.class_name), &why);
    }
    let sizes: Vec<i64> = storage.claim_sizes_gib.values().copied().collect();
    if let Some(largest) = sizes.iter().max() {
        if sizes.iter().any(|s| s != largest) {
            out.review(
                &format!("StatefulSet {}/{}", kafka.namespace, kafka.statefulset),
                &format!(
                    "its claims differ in size ({}): the first plan grows the smaller ones to {largest} GiB",
                    storage
                        .claim_sizes_gib
                        .iter()
                        .map(|(claim, size)| format!("{claim} {size} GiB"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        out.key("volume_size_gib", largest);
    }
}
