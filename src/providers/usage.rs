//! Measured usage from CloudWatch: every metric the kinds name, summed over the window, in one
//! GetMetricData call per 500 metrics (its limit per request), one datapoint a day.

use std::collections::BTreeMap;

use anyhow::{anyhow, Result};
use aws_sdk_cloudwatch::types::{Dimension, Metric as CwMetric, MetricDataQuery, MetricStat};
use rust_decimal::Decimal;

use super::{describe_sdk_error, Aws};
use crate::plan::usage::{Metric, Usage};

/// GetMetricData takes at most 500 queries a request (CloudWatch API reference).
const QUERIES_PER_CALL: usize = 500;
const DAY_SECONDS: i64 = 86_400;

/// The metrics' sums over the `days` before today (whole UTC days, so two plans of one day
/// read the same window).
pub async fn read_usage(aws: &Aws, metrics: &[Metric], days: i64) -> Result<Usage> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let end = now - now.rem_euclid(DAY_SECONDS);
    let start = end - days * DAY_SECONDS;
    let until = crate::plan::usage::utc_date(end - DAY_SECONDS);
    let mut sums = BTreeMap::new();
    for (chunk_index, chunk) in metrics.chunks(QUERIES_PER_CALL).enumerate() {
        let queries: Vec<MetricDataQuery> = chunk
            .iter()
            .enumerate()
            .map(|(i, metric)| query(&format!("m{chunk_index}x{i}"), metric))
            .collect();
        let mut token = None;
        loop {
            let page = aws
                .cloudwatch
                .get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(aws_smithy_types::DateTime::from_secs(start))
                .end_time(aws_smithy_types::DateTime::from_secs(end))
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| anyhow!("GetMetricData failed: {}", describe_sdk_error(&e)))?;
            for result in page.metric_data_results() {
                let Some(index) = result
                    .id()
                    .and_then(|id| id.rsplit_once('x'))
                    .and_then(|(_, i)| i.parse::<usize>().ok())
                else {
                    continue;
                };
                let Some(metric) = chunk.get(index) else {
                    continue;
                };
                if result.values().is_empty() {
                    continue;
                }
                let total: f64 = result.values().iter().sum();
                // A sum that is no number stays unknown rather than becoming 0.
                let Ok(total) = Decimal::try_from(total) else {
                    continue;
                };
                *sums.entry(metric.clone()).or_insert(Decimal::ZERO) += total;
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    Ok(Usage { days, until, sums })
}

fn query(id: &str, metric: &Metric) -> MetricDataQuery {
    let dimensions = metric
        .dimensions
        .iter()
        .map(|(name, value)| Dimension::builder().name(name).value(value).build())
        .collect();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(
                    CwMetric::builder()
                        .namespace(&metric.namespace)
                        .metric_name(&metric.name)
                        .set_dimensions(Some(dimensions))
                        .build(),
                )
                .period(DAY_SECONDS as i32)
                .stat("Sum")
                .build(),
        )
        .return_data(true)
        .build()
}
