//! The live Contributor Insights status of a table or an index: a setting of the table's entry
//! (`contributor_insights`), read here for `import` and by the `insights` kind, which plans and
//! applies it.

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;

use crate::providers::{describe_sdk_error, Aws};

/// Contributor Insights of a table or an index, as DescribeContributorInsights reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveInsights {
    /// `ENABLED`, `DISABLED`, `ENABLING`, `DISABLING` or `FAILED`.
    pub status: String,
    /// Why it FAILED, in DynamoDB's words: `FailureException` as `NAME: DESCRIPTION`.
    pub failure: Option<String>,
    /// `ContributorInsightsMode`, when DynamoDB reports one.
    pub mode: Option<String>,
    /// How many CloudWatch rules DynamoDB keeps for it (`ContributorInsightsRuleList`, listed
    /// while enabled): what its rules bill.
    pub rules: i64,
}

/// The mode of a table or index that reports none: what Contributor Insights tracked before
/// the modes existed.
pub const DEFAULT_MODE: &str = "ACCESSED_AND_THROTTLED_KEYS";

/// The live state: `None` when the table or index does not exist (yet). One
/// DescribeContributorInsights.
pub async fn status(aws: &Aws, table: &str, index: Option<&str>) -> Result<Option<LiveInsights>> {
    let described = aws
        .dynamodb
        .describe_contributor_insights()
        .table_name(table)
        .set_index_name(index.map(str::to_string))
        .send()
        .await;
    match described {
        Ok(output) => Ok(Some(LiveInsights {
            status: output
                .contributor_insights_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "DISABLED".into()),
            mode: output
                .contributor_insights_mode()
                .map(|m| m.as_str().to_string()),
            rules: i64::try_from(output.contributor_insights_rule_list().len()).unwrap_or(i64::MAX),
            failure: output.failure_exception().map(|f| {
                format!(
                    "{}: {}",
                    f.exception_name().unwrap_or("unknown exception"),
                    f.exception_description().unwrap_or("no description")
                )
            }),
        })),
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

/// What to do about a FAILED status, from DynamoDB's `FailureException` (the causes
/// DescribeContributorInsights documents).
pub fn failure_help(failure: Option<&str>) -> String {
    let failure = failure.unwrap_or_default();
    if failure.contains("service-linked role") {
        "the first enable in an account creates the service-linked role for contributorinsights.dynamodb.amazonaws.com: grant iam:CreateServiceLinkedRole for it (docs/operations.md), then set contributor_insights = false, apply, and true again".into()
    } else if failure.starts_with("LimitExceededException") {
        "the account's CloudWatch Contributor Insights rule limit is reached: disable Contributor Insights on other tables or indexes, or delete unused Contributor Insights rules, then set contributor_insights = false, apply, and true again".into()
    } else if failure.starts_with("AccessDeniedException") {
        "the caller may not create or change CloudWatch Contributor Insights rules (cloudwatch:PutInsightRule, DeleteInsightRules and related): grant them, then set contributor_insights = false, apply, and true again".into()
    } else {
        "DynamoDB could not create its CloudWatch Contributor Insights rules: set contributor_insights = false, apply, and true again".into()
    }
}

/// Whether a status means on (or turning on).
pub fn is_on(status: &str) -> bool {
    matches!(status, "ENABLED" | "ENABLING")
}
