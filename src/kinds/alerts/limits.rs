//! This kind's numeric limits, each with its source and the date it was last checked. AWS
//! raises some of these over time: change them here only.

use crate::spec::limits::Limit;

pub const ALERT_FOR_MINUTES: Limit = Limit {
    min: 0,
    max: 10080,
    unit: "minutes",
    aws_name: "PrometheusRule rules[].for",
    source:
        "Prometheus rulefmt: a duration, not negative; pipectl caps it at a week (checked 2026-11)",
};

pub const ALERT_MEMORY_PERCENT: Limit = Limit {
    min: 1,
    max: 100,
    unit: "percent",
    aws_name: "working set / memory limit",
    source: "a percentage of the container's memory limit (checked 2026-11)",
};

pub const ALERT_COUNT_THRESHOLD: Limit = Limit {
    min: 0,
    max: i64::MAX,
    unit: "",
    aws_name: "alert threshold",
    source: "a count: negative thresholds would fire always (checked 2026-11)",
};
