//! Offline checks of `[kafka.brokers]` and `[kafka.storage]`: the HPA's and EBS gp3's rules.

use super::limits;
use super::section::*;
use crate::spec::validate::*;
use crate::spec::StackSpec;

/// The kind's offline checks.
pub fn check(spec: &StackSpec, check: &mut Checker) {
    if let Some(brokers) = spec.section::<KafkaBrokers>() {
        validate_brokers(check, brokers);
    }
    if let Some(storage) = spec.section::<KafkaStorage>() {
        validate_storage(check, storage);
    }
}

fn validate_brokers(check: &mut Checker, brokers: &KafkaBrokers) {
    let base = "kafka.brokers";
    for (value, key, what) in [
        (&brokers.statefulset, "statefulset", "StatefulSet name"),
        (
            &brokers.hpa_name,
            "hpa_name",
            "HorizontalPodAutoscaler name",
        ),
    ] {
        check.name_rule(
            value,
            &format!("{base}.{key}"),
            what,
            kubernetes_object_name,
            KUBERNETES_NAME_RULE,
        );
    }
    check.in_range(
        &brokers.min_replicas,
        &limits::HPA_REPLICAS,
        &format!("{base}.min_replicas"),
    );
    check.in_range(
        &brokers.max_replicas,
        &limits::HPA_REPLICAS,
        &format!("{base}.max_replicas"),
    );
    check.in_range(
        &brokers.target_cpu_utilization,
        &limits::HPA_CPU_UTILIZATION,
        &format!("{base}.target_cpu_utilization"),
    );
    validate_replicas(check, brokers, base);
    if let Some(scale_down) = &brokers.scale_down {
        validate_scale_down(check, scale_down, base);
    }
}

/// The HPA's bounds against each other and against the topics' replication factor.
fn validate_replicas(check: &mut Checker, brokers: &KafkaBrokers, base: &str) {
    let (min, max) = (
        *brokers.min_replicas.get_ref(),
        *brokers.max_replicas.get_ref(),
    );
    if min > max {
        check.error(
            brokers.min_replicas.span(),
            &format!("{base}.min_replicas"),
            format!("min_replicas ({min}) is greater than max_replicas ({max})"),
            "make min_replicas less than or equal to max_replicas",
        );
    }
    let factor = *brokers.replication_factor.get_ref();
    if factor < 1 {
        check.error(
            brokers.replication_factor.span(),
            &format!("{base}.replication_factor"),
            format!("replication_factor is {factor}, but it must be at least 1"),
            "set the largest replication factor of your topics",
        );
    } else if min < factor {
        check.error(
            brokers.min_replicas.span(),
            &format!("{base}.min_replicas"),
            format!(
                "min_replicas ({min}) is below the replication factor ({factor}): scaling down to it would leave partitions under-replicated or offline"
            ),
            format!("set min_replicas to at least {factor}"),
        );
    }
}

/// Scale-down, when enabled, waits a stabilization window; when disabled, it has none.
fn validate_scale_down(check: &mut Checker, scale_down: &toml::Spanned<ScaleDown>, base: &str) {
    let policy = scale_down.get_ref();
    match (policy.enabled, &policy.stabilization_window_seconds) {
        (true, None) => check.error(
            scale_down.span(),
            &format!("{base}.scale_down"),
            "broker scale-down is enabled without a stabilization window".to_string(),
            format!(
                "add stabilization_window_seconds of at least {} (10 minutes), or set enabled = false",
                limits::KAFKA_MIN_SCALE_DOWN_WINDOW_SECONDS
            ),
        ),
        (true, Some(window)) => check.in_range(
            window,
            &limits::HPA_STABILIZATION_WINDOW,
            &format!("{base}.scale_down.stabilization_window_seconds"),
        ),
        (false, Some(window)) => check.error(
            window.span(),
            &format!("{base}.scale_down.stabilization_window_seconds"),
            "stabilization_window_seconds has no effect while broker scale-down is disabled".to_string(),
            "remove it, or set enabled = true to scale down after that window",
        ),
        (false, None) => {}
    }
}

fn validate_storage(check: &mut Checker, storage: &KafkaStorage) {
    let base = "kafka.storage";
    check.name_rule(
        &storage.storage_class,
        &format!("{base}.storage_class"),
        "StorageClass name",
        kubernetes_object_name,
        KUBERNETES_NAME_RULE,
    );
    if storage.volume_type.get_ref() != "gp3" {
        check.error(
            storage.volume_type.span(),
            &format!("{base}.volume_type"),
            format!(
                "volume_type {:?} is not supported",
                storage.volume_type.get_ref()
            ),
            "pipectl manages gp3 volumes only; set volume_type = \"gp3\"",
        );
    }
    if let Some(policy) = &storage.reclaim_policy {
        if !matches!(policy.get_ref().as_str(), "Delete" | "Retain") {
            check.error(
                policy.span(),
                &format!("{base}.reclaim_policy"),
                format!(
                    "reclaim_policy {:?} is not a reclaim policy in Kubernetes",
                    policy.get_ref()
                ),
                "use \"Retain\" (volumes outlive their claims) or \"Delete\"",
            );
        }
    }
    check.optional_in_range(&storage.iops, &limits::GP3_IOPS, &format!("{base}.iops"));
    check.optional_in_range(
        &storage.throughput_mibps,
        &limits::GP3_THROUGHPUT,
        &format!("{base}.throughput_mibps"),
    );
    check.optional_in_range(
        &storage.volume_size_gib,
        &limits::GP3_VOLUME_SIZE,
        &format!("{base}.volume_size_gib"),
    );
    check.optional_in_range(
        &storage.max_parallel_volume_changes,
        &limits::PARALLEL_VOLUME_CHANGES,
        &format!("{base}.max_parallel_volume_changes"),
    );
    let iops = storage
        .iops
        .as_ref()
        .map(|v| *v.get_ref())
        .unwrap_or(limits::GP3_IOPS.min);
    if let (Some(iops_value), Some(size)) = (&storage.iops, &storage.volume_size_gib) {
        let ceiling = size.get_ref().saturating_mul(limits::GP3_MAX_IOPS_PER_GIB);
        if iops > ceiling {
            check.error(
                iops_value.span(),
                &format!("{base}.iops"),
                format!(
                    "iops {iops} exceeds {} IOPS per GiB of a {} GiB volume ({ceiling})",
                    limits::GP3_MAX_IOPS_PER_GIB,
                    size.get_ref()
                ),
                format!("lower iops to {ceiling} or raise volume_size_gib"),
            );
        }
    }
    if let Some(throughput) = &storage.throughput_mibps {
        let ceiling = (iops as f64 * limits::GP3_MAX_THROUGHPUT_PER_IOPS) as i64;
        if *throughput.get_ref() > ceiling {
            check.error(
                throughput.span(),
                &format!("{base}.throughput_mibps"),
                format!(
                    "throughput {} MiB/s exceeds {} MiB/s per provisioned IOPS ({ceiling} for {iops} IOPS)",
                    throughput.get_ref(),
                    limits::GP3_MAX_THROUGHPUT_PER_IOPS
                ),
                format!("lower throughput_mibps to {ceiling} or raise iops"),
            );
        }
    }
}
