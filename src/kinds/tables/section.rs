//! `[[dynamodb.tables]]` with their indexes: this kind's part of the stack file (with
//! `contributor_insights`, a setting of a table that the `insights` kind plans and applies).

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::spec::Section;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DynamoDbTable {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    #[schemars(with = "BillingMode")]
    pub billing_mode: Spanned<BillingMode>,
    pub partition_key: KeyAttribute,
    pub sort_key: Option<KeyAttribute>,
    #[schemars(with = "Option<Capacity>")]
    pub capacity: Option<Spanned<Capacity>>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    /// Delete live indexes the file does not list, whoever made them. Without it, only indexes
    /// pipectl created (or ones listed with `remove = true`) are deleted when they leave the file.
    #[serde(default)]
    pub prune: bool,
    /// DynamoDB Contributor Insights on the table (hot keys). Absent: left as it is.
    pub contributor_insights: Option<bool>,
    /// What Contributor Insights tracks when on. Absent: ACCESSED_AND_THROTTLED_KEYS.
    pub contributor_insights_mode: Option<InsightsMode>,
    /// Declared on-demand use, for the plan's cost when CloudWatch has none (docs/cost.md).
    #[schemars(with = "Option<TableUsage>")]
    pub usage: Option<Spanned<TableUsage>>,
}

/// `usage = { reads_per_month = N, writes_per_month = N }`: read and write request units a
/// month (the table's, indexes included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableUsage {
    pub reads_per_month: i64,
    pub writes_per_month: i64,
}

/// What Contributor Insights tracks (UpdateContributorInsights `ContributorInsightsMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
pub enum InsightsMode {
    /// Every read and write, successful or throttled (the "Most accessed" and "Most throttled"
    /// graphs): DynamoDB's behaviour before the modes existed.
    #[serde(rename = "ACCESSED_AND_THROTTLED_KEYS")]
    AccessedAndThrottledKeys,
    /// Throttled requests only.
    #[serde(rename = "THROTTLED_KEYS")]
    ThrottledKeys,
}

impl InsightsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            InsightsMode::AccessedAndThrottledKeys => "ACCESSED_AND_THROTTLED_KEYS",
            InsightsMode::ThrottledKeys => "THROTTLED_KEYS",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
pub enum BillingMode {
    #[serde(rename = "PAY_PER_REQUEST")]
    PayPerRequest,
    #[serde(rename = "PROVISIONED")]
    Provisioned,
}

impl BillingMode {
    pub fn as_aws(self) -> &'static str {
        match self {
            BillingMode::PayPerRequest => "PAY_PER_REQUEST",
            BillingMode::Provisioned => "PROVISIONED",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
pub enum AttributeType {
    S,
    N,
    B,
}

impl AttributeType {
    pub fn as_aws(self) -> &'static str {
        match self {
            AttributeType::S => "S",
            AttributeType::N => "N",
            AttributeType::B => "B",
        }
    }
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyAttribute {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    #[serde(rename = "type")]
    #[schemars(with = "AttributeType")]
    pub attribute_type: Spanned<AttributeType>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    pub read: i64,
    pub write: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
pub enum ProjectionType {
    #[serde(rename = "ALL")]
    All,
    #[serde(rename = "KEYS_ONLY")]
    KeysOnly,
    #[serde(rename = "INCLUDE")]
    Include,
}

impl ProjectionType {
    pub fn as_aws(self) -> &'static str {
        match self {
            ProjectionType::All => "ALL",
            ProjectionType::KeysOnly => "KEYS_ONLY",
            ProjectionType::Include => "INCLUDE",
        }
    }
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalSecondaryIndex {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Required unless `remove = true`.
    pub partition_key: Option<KeyAttribute>,
    pub sort_key: Option<KeyAttribute>,
    #[serde(default = "default_projection")]
    #[schemars(with = "ProjectionType")]
    pub projection: Spanned<ProjectionType>,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
    #[schemars(with = "Option<Capacity>")]
    pub capacity: Option<Spanned<Capacity>>,
    /// Delete this live index (one pipectl did not create); the entry needs only its name.
    #[serde(default)]
    pub remove: bool,
    /// DynamoDB Contributor Insights on the index (hot keys). Absent: left as it is.
    pub contributor_insights: Option<bool>,
    /// What Contributor Insights tracks when on. Absent: ACCESSED_AND_THROTTLED_KEYS.
    pub contributor_insights_mode: Option<InsightsMode>,
}

fn default_projection() -> Spanned<ProjectionType> {
    Spanned::new(0..0, ProjectionType::All)
}
impl Section for DynamoDbTable {
    const PATH: &'static [&'static str] = &["dynamodb", "tables"];
    const LIST: bool = true;
}
