//! Measured usage that prices what is billed by use: CloudWatch sums over a window (`--usage-
//! window`, 14 days by default), projected to a 730-hour month. Kinds name the metrics they need
//! from the stack file alone (`Kind::usage_metrics`), so one GetMetricData batch serves every
//! kind before they plan.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::cost::HOURS_PER_MONTH;

/// One metric a kind needs: its sum over the window.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Metric {
    pub namespace: String,
    pub name: String,
    /// (dimension name, value), in the order CloudWatch keys them.
    pub dimensions: Vec<(String, String)>,
}

impl Metric {
    pub fn new(namespace: &str, name: &str, dimensions: &[(&str, &str)]) -> Metric {
        Metric {
            namespace: namespace.to_string(),
            name: name.to_string(),
            dimensions: dimensions
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

/// The UTC date of a time in seconds since the epoch (`2026-12-06`).
pub fn utc_date(epoch_seconds: i64) -> String {
    aws_smithy_types::DateTime::from_secs(epoch_seconds)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .map(|t| t.chars().take(10).collect())
        .unwrap_or_default()
}

/// The sums read, and the window they cover.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// Days the window covers.
    pub days: i64,
    /// The window's last day (`2026-12-06`).
    pub until: String,
    /// Each metric's sum; a metric with no datapoint in the window is absent (not 0: no data
    /// is not no use when the metric was never published).
    pub sums: BTreeMap<Metric, Decimal>,
}

impl Usage {
    /// A metric's sum projected to a month (`sum × 730 h / window hours`), if it had data.
    pub fn monthly(&self, metric: &Metric) -> Option<Decimal> {
        if self.days <= 0 {
            return None;
        }
        let sum = self.sums.get(metric)?;
        Some(sum * Decimal::from(HOURS_PER_MONTH) / Decimal::from(self.days * 24))
    }

    /// `usage over 14 days to 2026-12-06`.
    pub fn basis(&self) -> String {
        format!("usage over {} days to {}", self.days, self.until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_projected_to_a_730_hour_month() {
        let metric = Metric::new("AWS/Lambda", "Invocations", &[("FunctionName", "f")]);
        let usage = Usage {
            days: 14,
            until: "2026-12-06".into(),
            sums: BTreeMap::from([(metric.clone(), Decimal::from(1_400_000))]),
        };
        // 100,000 a day × 730/24 days.
        assert_eq!(
            usage.monthly(&metric).map(|m| m.round_dp(2)),
            Some(Decimal::from(3_041_666) + Decimal::new(67, 2))
        );
        let other = Metric::new("AWS/Lambda", "Invocations", &[("FunctionName", "g")]);
        assert_eq!(usage.monthly(&other), None);
    }
}
