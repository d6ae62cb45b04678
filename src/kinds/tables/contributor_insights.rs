//! The live Contributor Insights status of a table or an index: a setting of the table's entry
//! (`contributor_insights`), read here for `import` and by the `insights` kind, which plans and
//! applies it.

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;

use crate::providers::{describe_sdk_error, Aws};

/// The live status (`ENABLED`, `DISABLED`, ...): `None` when the table or index does not exist
/// (yet). One DescribeContributorInsights.
pub async fn status(aws: &Aws, table: &str, index: Option<&str>) -> Result<Option<String>> {
    let described = aws
        .dynamodb
        .describe_contributor_insights()
        .table_name(table)
        .set_index_name(index.map(str::to_string))
        .send()
        .await;
    match described {
        Ok(output) => Ok(Some(
            output
                .contributor_insights_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "DISABLED".into()),
        )),
        Err(error) if error.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(error) => Err(anyhow!(
            "DescribeContributorInsights {} failed: {}",
            match index {
                Some(index) => format!("{table}/{index}"),
                None => table.to_string(),
            },
            describe_sdk_error(&error)
        )),
    }
}

/// Whether a status means on (or turning on).
pub fn is_on(status: &str) -> bool {
    matches!(status, "ENABLED" | "ENABLING")
}
