//! This kind's numeric limits, each with its source and the date it was last checked. AWS
//! raises some of these over time: change them here only.

use crate::spec::limits::Limit;

pub const SAGEMAKER_CAPACITY: Limit = Limit {
    min: 1,
    max: 1000,
    unit: "instances",
    aws_name: "MinCapacity / MaxCapacity",
    source: "Application Auto Scaling for SageMaker variants: capacity >= 1 (checked 2026-11)",
};

pub const AUTOSCALING_COOLDOWN: Limit = Limit {
    min: 0,
    max: 3600,
    unit: "seconds",
    aws_name: "ScaleInCooldown / ScaleOutCooldown",
    source: "TargetTrackingScalingPolicyConfiguration (checked 2026-11)",
};
