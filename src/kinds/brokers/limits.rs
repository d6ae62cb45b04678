//! This kind's numeric limits, each with its source and the date it was last checked. AWS
//! raises some of these over time: change them here only.

use crate::spec::limits::Limit;

pub const HPA_REPLICAS: Limit = Limit {
    min: 1,
    max: 1000,
    unit: "replicas",
    aws_name: "minReplicas / maxReplicas",
    source: "autoscaling/v2 HorizontalPodAutoscaler: minReplicas >= 1 (checked 2026-11)",
};

pub const HPA_CPU_UTILIZATION: Limit = Limit {
    min: 1,
    max: 100,
    unit: "percent",
    aws_name: "averageUtilization",
    source: "autoscaling/v2 resource metric target (checked 2026-11)",
};

/// Broker scale-down is only allowed with at least this stabilization window.
pub const KAFKA_MIN_SCALE_DOWN_WINDOW_SECONDS: i64 = 600;

pub const HPA_STABILIZATION_WINDOW: Limit = Limit {
    min: KAFKA_MIN_SCALE_DOWN_WINDOW_SECONDS,
    max: 3600,
    unit: "seconds",
    aws_name: "behavior.scaleDown.stabilizationWindowSeconds",
    source: "Kubernetes caps the window at 3600 s; pipectl requires >= 600 s for brokers (checked 2026-11)",
};

pub const GP3_IOPS: Limit = Limit {
    min: 3000,
    max: 80000,
    unit: "IOPS",
    aws_name: "iops",
    source: "EBS gp3: 3,000 baseline; 16,000 max until 2025, 80,000 since (checked 2026-11)",
};

pub const GP3_THROUGHPUT: Limit = Limit {
    min: 125,
    max: 2000,
    unit: "MiB/s",
    aws_name: "throughput",
    source: "EBS gp3: 125 baseline; 1,000 max until 2025, 2,000 since (checked 2026-11)",
};

/// gp3: IOPS may be at most this many times the volume size in GiB.
pub const GP3_MAX_IOPS_PER_GIB: i64 = 500;
/// gp3: throughput (MiB/s) may be at most this fraction of the provisioned IOPS.
pub const GP3_MAX_THROUGHPUT_PER_IOPS: f64 = 0.25;

pub const GP3_VOLUME_SIZE: Limit = Limit {
    min: 1,
    max: 65536,
    unit: "GiB",
    aws_name: "size",
    source: "EBS gp3: 1 GiB to 64 TiB (checked 2026-11)",
};

/// EBS: a volume can be modified again once its previous modification is `completed`, and at
/// most this many times within a rolling 24 hours (ModifyVolume API reference, checked
/// 2026-11; until 2025 the rule was "wait at least six hours" between modifications).
pub const EBS_MODIFICATIONS_PER_VOLUME_PER_DAY: i64 = 4;

pub const PARALLEL_VOLUME_CHANGES: Limit = Limit {
    min: 1,
    max: 16,
    unit: "volumes",
    aws_name: "(pipectl setting)",
    source: "pipectl: modify a few broker volumes at once at most, so a cluster never loses much I/O headroom together",
};
