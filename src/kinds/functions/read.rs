//! The live read of functions: GetFunction (configuration, reserved concurrency and tags in one call),
//! the account's concurrency, and the Kafka mappings (trigger.rs reads those).

use super::*;

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LiveFunction {
    pub name: String,
    pub timeout_seconds: i64,
    pub memory_mib: i64,
    pub reserved_concurrency: Option<i64>,
    pub last_update_status: String,
    pub revision_id: Option<String>,
    pub kafka_mappings: Vec<LiveMapping>,
    #[serde(default)]
    pub arn: Option<String>,
    /// The stack its `pipectl:stack` tag names (GetFunction returns the tags).
    #[serde(default)]
    pub owner: Option<String>,
    /// `Architectures[0]`: x86_64 or arm64 (priced differently). Not fingerprinted.
    #[serde(skip)]
    pub architecture: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LiveMapping {
    pub uuid: String,
    pub source: KafkaSource,
    pub topics: Vec<String>,
    pub batch_size: Option<i64>,
    pub batching_window_seconds: Option<i64>,
    pub state: String,
    #[serde(default)]
    pub consumer_group_id: Option<String>,
    /// `SelfManagedKafkaEventSourceConfig.ConsumptionMode` (absent: Stream).
    #[serde(default)]
    pub consumption_mode: ConsumptionMode,
    /// `SourceAccessConfigurations` as (type, URI), sorted.
    #[serde(default)]
    pub access: Vec<(String, String)>,
    /// Not part of a saved plan's fingerprint: it moves by itself.
    #[serde(skip)]
    pub last_processing_result: Option<String>,
    /// `StateTransitionReason`: why the mapping is in its state (moves by itself too).
    #[serde(skip)]
    pub state_reason: Option<String>,
    /// `ProvisionedPollerConfig` (minimum, maximum), when the mapping runs in provisioned mode.
    #[serde(default)]
    pub pollers: Option<(i64, i64)>,
    #[serde(default)]
    pub arn: Option<String>,
    /// Whether pipectl created it (its `pipectl:stack` tag); read only for a mapping a plan
    /// would replace.
    #[serde(default)]
    pub created_by_pipectl: Option<bool>,
    /// The stack its `pipectl:stack` tag names, read with `created_by_pipectl`.
    #[serde(default)]
    pub owner: Option<String>,
}

/// Account-wide concurrency, from GetAccountSettings.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountConcurrency {
    pub limit: i64,
    pub unreserved: i64,
}

pub async fn read_account(aws: &Aws) -> Result<AccountConcurrency> {
    let output = aws
        .lambda
        .get_account_settings()
        .send()
        .await
        .map_err(|e| anyhow!("GetAccountSettings failed: {}", describe_sdk_error(&e)))?;
    let limit = output
        .account_limit()
        .ok_or_else(|| anyhow!("GetAccountSettings returned no AccountLimit"))?;
    let total = i64::from(limit.concurrent_executions());
    Ok(AccountConcurrency {
        limit: total,
        unreserved: limit
            .unreserved_concurrent_executions()
            .map(i64::from)
            .unwrap_or(total),
    })
}

/// Above this many functions with Kafka triggers, a plan lists the account's mappings once
/// (ListEventSourceMappings without a function, 100 a page, filtered here) instead of once per
/// function: Lambda allows 15 control-plane requests per second per account, and listing per
/// function spends one of them per function.
pub const ACCOUNT_LISTING_ABOVE: usize = 3;

/// Reads a function and its reservation, and its Kafka mappings when `with_mappings` (only
/// functions that declare a trigger need them: one request fewer per function otherwise).
/// `None` when the function does not exist.
pub async fn read_function(
    aws: &Aws,
    name: &str,
    with_mappings: bool,
) -> Result<Option<LiveFunction>> {
    let output = match aws.lambda.get_function().function_name(name).send().await {
        Ok(output) => output,
        Err(err) if err.code() == Some("ResourceNotFoundException") => return Ok(None),
        Err(err) => bail!("GetFunction {name} failed: {}", describe_sdk_error(&err)),
    };
    let configuration = output
        .configuration()
        .ok_or_else(|| anyhow!("GetFunction {name} returned no configuration"))?;
    let mappings = if with_mappings {
        list_mappings(aws, Some(name)).await?
    } else {
        vec![]
    };
    Ok(Some(LiveFunction {
        name: name.to_string(),
        timeout_seconds: configuration.timeout().map(i64::from).unwrap_or(3),
        memory_mib: configuration.memory_size().map(i64::from).unwrap_or(128),
        reserved_concurrency: output
            .concurrency()
            .and_then(|c| c.reserved_concurrent_executions())
            .map(i64::from),
        last_update_status: configuration
            .last_update_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "Successful".into()),
        revision_id: configuration.revision_id().map(str::to_string),
        arn: configuration.function_arn().map(str::to_string),
        owner: output.tags().and_then(|tags| tags.get(STACK_TAG)).cloned(),
        architecture: configuration
            .architectures()
            .first()
            .map(|a| a.as_str().to_string()),
        kafka_mappings: kafka_mappings(&mappings),
    }))
}

/// The tags of a function or an event source mapping (ListTags).
pub async fn read_tags(aws: &Aws, arn: &str) -> Result<BTreeMap<String, String>> {
    let output = aws
        .lambda
        .list_tags()
        .resource(arn)
        .send()
        .await
        .map_err(|e| anyhow!("ListTags {arn} failed: {}", describe_sdk_error(&e)))?;
    Ok(output
        .tags()
        .map(|tags| tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}
