//! `pipectl import`: a stack file from live state, so a team that already runs the stack (made
//! by hand, by the AWS CLI as in the seed article, by Terraform or Helm) starts from a file
//! that `plan` shows as **no changes**. Everything is read through the providers' own reads, so
//! the file says exactly what a plan will compare; `render` writes it in the order and style of
//! `stacks/kafka-logs.toml`. Settings pipectl would change for safety are written as live and
//! flagged, never changed silently.

pub mod render;

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context, Result};

use crate::kinds::brokers::{hpa, storage};
use crate::kinds::{
    alerts, functions as lambda, insights, tables as dynamodb, topics, variants as sagemaker,
};
use crate::providers::eks::{Cluster, ClusterRequest};
use crate::providers::{describe_sdk_error, kafka, Aws};

/// What to import, from `pipectl import`'s flags.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    pub stack_name: String,
    pub tables: Vec<String>,
    pub functions: Vec<String>,
    /// `ENDPOINT` (every variant) or `ENDPOINT/VARIANT`.
    pub endpoints: Vec<String>,
    /// `NAMESPACE/NAME` of the broker StatefulSet.
    pub statefulset: Option<String>,
    /// The brokers' StorageClass; by default the one their volume claim template names.
    pub storage_class: Option<String>,
    pub cluster: Option<String>,
    pub kube_context: Option<String>,
    /// Discover tables, functions and endpoints carrying all these tags.
    pub tags: Vec<(String, String)>,
    /// Discover tables, functions and endpoints whose name starts with this.
    pub name_prefix: Option<String>,
    /// `NAMESPACE/NAME` of a PrometheusRule whose alerting rules become `[[alerts]]`.
    pub prometheus_rule: Option<String>,
    /// Kafka topics, read through the brokers' admin API with `kafka_admin`.
    pub topics: Vec<String>,
    pub kafka_admin: Option<kafka::AdminSettings>,
}

/// Everything read, in the terms of the stack file.
#[derive(Debug, Default)]
pub struct Imported {
    pub stack_name: String,
    pub region: String,
    pub account: String,
    pub cluster: Option<String>,
    pub kube_context: Option<String>,
    pub kafka: Option<ImportedKafka>,
    pub functions: Vec<lambda::LiveFunction>,
    pub variants: Vec<ImportedVariant>,
    pub tables: Vec<dynamodb::LiveTable>,
    /// Tables and indexes (`TABLE/INDEX`) with Contributor Insights on.
    pub insights: Vec<String>,
    pub topics: Option<ImportedTopics>,
    pub alerts: Option<ImportedAlerts>,
}

#[derive(Debug)]
pub struct ImportedAlerts {
    pub namespace: String,
    pub name: String,
    pub rules: Vec<alerts::Rule>,
    pub recording: Vec<String>,
    pub rounded: Vec<String>,
}

#[derive(Debug)]
pub struct ImportedTopics {
    pub admin: kafka::AdminSettings,
    pub topics: Vec<(String, topics::LiveTopic)>,
}

#[derive(Debug)]
pub struct ImportedKafka {
    pub namespace: String,
    pub statefulset: String,
    pub replicas: i64,
    pub autoscaler: Option<(String, hpa::LiveAutoscaler)>,
    pub storage: Option<ImportedStorage>,
}

#[derive(Debug)]
pub struct ImportedStorage {
    pub class_name: String,
    pub class: storage::LiveClass,
    /// The size each broker's claim requests, in GiB, by claim.
    pub claim_sizes_gib: BTreeMap<String, i64>,
}

#[derive(Debug)]
pub struct ImportedVariant {
    pub endpoint: String,
    pub variant: String,
    pub multi_model: bool,
    /// The scalable target's (min, max), if the variant is registered.
    pub target: Option<(i64, i64)>,
    /// The target-tracking policy on invocations per instance, if any.
    pub policy: Option<sagemaker::LivePolicy>,
    /// Other scalable targets of the endpoint whose id names no variant.
    pub variantless_ids: Vec<String>,
}

/// Reads what the request names or discovers. Fails when a named object does not exist.
pub async fn read(aws: &Aws, request: &ImportRequest) -> Result<Imported> {
    let discovered = discover(aws, request).await?;
    let tables = futures::future::try_join_all(discovered.tables.iter().map(|name| async move {
        dynamodb::read_table(aws, name)
            .await?
            .ok_or_else(|| anyhow!("DynamoDB table {name} does not exist in {}", aws.region))
    }))
    .await?;
    let insights = read_insights(aws, &tables).await?;
    let functions =
        futures::future::try_join_all(discovered.functions.iter().map(|name| async move {
            lambda::read_function(aws, name, true)
                .await?
                .ok_or_else(|| anyhow!("Lambda function {name} does not exist in {}", aws.region))
        }))
        .await?;
    let variants = if discovered.endpoints.is_empty() {
        vec![]
    } else {
        read_variants(aws, &discovered.endpoints).await?
    };
    let kafka = match &request.statefulset {
        Some(statefulset) => Some(read_kafka(aws, request, statefulset).await?),
        None => None,
    };
    let topics = read_topics(aws, request).await?;
    let alerts = match &request.prometheus_rule {
        Some(given) => Some(read_alerts(aws, request, given).await?),
        None => None,
    };
    Ok(Imported {
        topics,
        alerts,
        stack_name: request.stack_name.clone(),
        region: aws.region.clone(),
        account: aws.caller().await?.account,
        cluster: request.cluster.clone(),
        kube_context: request.kube_context.clone(),
        kafka,
        functions,
        variants,
        tables,
        insights,
    })
}

/// The cluster an import flag's NAMESPACE/NAME object lives in, reached as `--cluster` or
/// `--kube-context` say.
async fn connect_for<'a>(
    aws: &Aws,
    request: &ImportRequest,
    given: &'a str,
    usage: &str,
) -> Result<(Cluster, &'a str, &'a str)> {
    let (namespace, name) = given.split_once('/').ok_or_else(|| anyhow!("{usage}"))?;
    let cluster = Cluster::connect(
        aws,
        &ClusterRequest {
            cluster: request.cluster.clone(),
            kube_context: request.kube_context.clone(),
            namespace: namespace.to_string(),
        },
    )
    .await
    .map_err(|e| anyhow!("{} ({})", e.message, e.help))?;
    Ok((cluster, namespace, name))
}

/// A PrometheusRule's alerting rules.
async fn read_alerts(aws: &Aws, request: &ImportRequest, given: &str) -> Result<ImportedAlerts> {
    let (cluster, namespace, name) = connect_for(
        aws,
        request,
        given,
        "--prometheus-rule takes NAMESPACE/NAME, e.g. kafka/kafka-alerts",
    )
    .await?;
    let imported = alerts::read_for_import(&cluster, namespace, name)
        .await?
        .ok_or_else(|| anyhow!("PrometheusRule {given} does not exist"))?;
    Ok(ImportedAlerts {
        namespace: namespace.to_string(),
        name: name.to_string(),
        rules: imported.rules,
        recording: imported.recording,
        rounded: imported.rounded,
    })
}

/// The named topics, through the admin API: one Metadata and one DescribeConfigs call.
async fn read_topics(aws: &Aws, request: &ImportRequest) -> Result<Option<ImportedTopics>> {
    if request.topics.is_empty() {
        return Ok(None);
    }
    let settings = request
        .kafka_admin
        .clone()
        .ok_or_else(|| anyhow!("--topic needs the brokers: pass --kafka-bootstrap HOST:PORT"))?;
    let admin = kafka::Admin::new(&settings, aws)?;
    let names = request.topics.clone();
    let live = admin
        .with_connection(|connection| {
            Box::pin(async move { topics::read(connection, &names).await })
        })
        .await?;
    let mut topics = vec![];
    for name in &request.topics {
        let topic = live.topics.get(name).ok_or_else(|| {
            anyhow!(
                "Kafka topic {name} does not exist on {}",
                settings.servers.join(", ")
            )
        })?;
        topics.push((name.clone(), topic.clone()));
    }
    Ok(Some(ImportedTopics {
        admin: settings,
        topics,
    }))
}

/// Which tables and indexes have Contributor Insights on (`TABLE` or `TABLE/INDEX`): one
/// DescribeContributorInsights each.
async fn read_insights(aws: &Aws, tables: &[dynamodb::LiveTable]) -> Result<Vec<String>> {
    let mut targets = vec![];
    for table in tables {
        targets.push(insights::InsightsDefinition {
            table: table.name.clone(),
            index: None,
            enabled: true,
        });
        for index in &table.indexes {
            targets.push(insights::InsightsDefinition {
                table: table.name.clone(),
                index: Some(index.definition.name.clone()),
                enabled: true,
            });
        }
    }
    let mut enabled = vec![];
    for target in targets {
        if insights::read(aws, &target)
            .await?
            .is_some_and(|s| insights::is_on(&s))
        {
            enabled.push(match &target.index {
                Some(index) => format!("{}/{index}", target.table),
                None => target.table.clone(),
            });
        }
    }
    Ok(enabled)
}

/// The names to import: those given, plus those found by prefix or tags; sorted, once each.
#[derive(Debug, Default)]
struct Discovered {
    tables: Vec<String>,
    functions: Vec<String>,
    endpoints: Vec<String>,
}

async fn discover(aws: &Aws, request: &ImportRequest) -> Result<Discovered> {
    let mut found = Discovered {
        tables: request.tables.clone(),
        functions: request.functions.clone(),
        endpoints: request.endpoints.clone(),
    };
    if request.name_prefix.is_some() || !request.tags.is_empty() {
        let prefix = request.name_prefix.as_deref().unwrap_or("");
        for (name, arn) in list_tables(aws, prefix).await? {
            if has_tags(&request.tags, || dynamodb::read_tags(aws, &arn)).await? {
                found.tables.push(name);
            }
        }
        for (name, arn) in list_functions(aws, prefix).await? {
            if has_tags(&request.tags, || lambda::read_tags(aws, &arn)).await? {
                found.functions.push(name);
            }
        }
        for (name, arn) in list_endpoints(aws, prefix).await? {
            if has_tags(&request.tags, || sagemaker_tags(aws, &arn)).await? {
                found.endpoints.push(name);
            }
        }
    }
    for names in [
        &mut found.tables,
        &mut found.functions,
        &mut found.endpoints,
    ] {
        names.sort();
        names.dedup();
    }
    Ok(found)
}

/// Whether the resource carries every wanted tag; its tags are read only when some are wanted.
async fn has_tags<F, Fut>(wanted: &[(String, String)], read: F) -> Result<bool>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<BTreeMap<String, String>>>,
{
    if wanted.is_empty() {
        return Ok(true);
    }
    let tags = read().await?;
    Ok(wanted.iter().all(|(k, v)| tags.get(k) == Some(v)))
}

/// Tables whose name starts with `prefix`, with their ARNs (ListTables, then DescribeTable).
async fn list_tables(aws: &Aws, prefix: &str) -> Result<Vec<(String, String)>> {
    let names: Vec<String> = aws
        .dynamodb
        .list_tables()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| anyhow!("ListTables failed: {}", describe_sdk_error(&e)))?;
    let mut tables = vec![];
    for name in names.into_iter().filter(|n| n.starts_with(prefix)) {
        let described = aws
            .dynamodb
            .describe_table()
            .table_name(&name)
            .send()
            .await
            .map_err(|e| anyhow!("DescribeTable {name} failed: {}", describe_sdk_error(&e)))?;
        let arn = described
            .table()
            .and_then(|t| t.table_arn())
            .unwrap_or_default()
            .to_string();
        tables.push((name, arn));
    }
    Ok(tables)
}

async fn list_functions(aws: &Aws, prefix: &str) -> Result<Vec<(String, String)>> {
    let functions: Vec<_> = aws
        .lambda
        .list_functions()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| anyhow!("ListFunctions failed: {}", describe_sdk_error(&e)))?;
    Ok(functions
        .iter()
        .filter_map(|f| {
            Some((
                f.function_name()?.to_string(),
                f.function_arn()?.to_string(),
            ))
        })
        .filter(|(name, _)| name.starts_with(prefix))
        .collect())
}

async fn list_endpoints(aws: &Aws, prefix: &str) -> Result<Vec<(String, String)>> {
    let endpoints: Vec<_> = aws
        .sagemaker
        .list_endpoints()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| anyhow!("ListEndpoints failed: {}", describe_sdk_error(&e)))?;
    Ok(endpoints
        .iter()
        .filter_map(|e| {
            Some((
                e.endpoint_name()?.to_string(),
                e.endpoint_arn()?.to_string(),
            ))
        })
        .filter(|(name, _)| name.starts_with(prefix))
        .collect())
}

async fn sagemaker_tags(aws: &Aws, arn: &str) -> Result<BTreeMap<String, String>> {
    let output = aws
        .sagemaker
        .list_tags()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| anyhow!("ListTags {arn} failed: {}", describe_sdk_error(&e)))?;
    Ok(output
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect())
}

/// The variants of the named endpoints with their scaling: one DescribeEndpoint each, and the
/// SageMaker namespace's targets and policies once.
async fn read_variants(aws: &Aws, endpoints: &[String]) -> Result<Vec<ImportedVariant>> {
    let scaling = sagemaker::read_scaling(aws).await?;
    let mut variants = vec![];
    for given in endpoints {
        let (endpoint, only) = match given.split_once('/') {
            Some((endpoint, variant)) => (endpoint, Some(variant)),
            None => (given.as_str(), None),
        };
        let live = sagemaker::read_endpoint(aws, endpoint, None, None)
            .await?
            .ok_or_else(|| {
                anyhow!(
                    "SageMaker endpoint {endpoint} does not exist in {}",
                    aws.region
                )
            })?;
        if let Some(variant) = only {
            if !live.variants.iter().any(|v| v == variant) {
                bail!(
                    "SageMaker endpoint {endpoint} has no variant {variant}; it has {}",
                    live.variants.join(", ")
                );
            }
        }
        let variantless_ids: Vec<String> = scaling
            .targets
            .keys()
            .filter(|id| *id == &format!("endpoint/{endpoint}"))
            .cloned()
            .collect();
        for variant in live
            .variants
            .iter()
            .filter(|v| only.is_none_or(|o| o == *v))
        {
            let resource_id = sagemaker::resource_id(endpoint, variant);
            let multi_model =
                match sagemaker::read_endpoint(aws, endpoint, Some(variant), None).await? {
                    Some(with_modes) => with_modes
                        .container_modes
                        .is_some_and(|modes| modes.iter().any(|m| m == "MultiModel")),
                    None => false,
                };
            let (target, policies) = scaling.of(&resource_id);
            let policy = policies.and_then(|ps| {
                ps.iter()
                    .find(|p| p.metric.as_deref() == Some("SageMakerVariantInvocationsPerInstance"))
                    .cloned()
            });
            variants.push(ImportedVariant {
                endpoint: endpoint.to_string(),
                variant: variant.clone(),
                multi_model,
                target: target.copied(),
                policy,
                variantless_ids: variantless_ids.clone(),
            });
        }
    }
    Ok(variants)
}

/// The broker StatefulSet, the HPA that scales it, and its StorageClass and volumes.
async fn read_kafka(aws: &Aws, request: &ImportRequest, given: &str) -> Result<ImportedKafka> {
    let (cluster, namespace, name) = connect_for(
        aws,
        request,
        given,
        "--statefulset takes NAMESPACE/NAME, e.g. kafka/kafka-broker",
    )
    .await?;
    let statefulset = hpa::read_statefulset(&cluster, name)
        .await?
        .ok_or_else(|| anyhow!("StatefulSet {given} does not exist"))?;
    let replicas = statefulset
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .map(i64::from)
        .unwrap_or(1);
    let autoscaler = hpa::find_for_statefulset(&cluster, name).await?;
    let class_name = request.storage_class.clone().or_else(|| {
        statefulset
            .spec
            .as_ref()?
            .volume_claim_templates
            .as_ref()?
            .iter()
            .find_map(|t| t.spec.as_ref()?.storage_class_name.clone())
    });
    let storage = match class_name {
        Some(class_name) => {
            let class = storage::read_class(&cluster, &class_name)
                .await?
                .with_context(|| format!("StorageClass {class_name} does not exist"))?;
            let volumes = storage::read_volumes(&cluster, aws, &statefulset, &class_name).await?;
            let claim_sizes_gib = volumes
                .iter()
                .map(|v| (v.claim.clone(), (v.requested_bytes >> 30) as i64))
                .collect();
            Some(ImportedStorage {
                class_name,
                class,
                claim_sizes_gib,
            })
        }
        None => None,
    };
    Ok(ImportedKafka {
        namespace: namespace.to_string(),
        statefulset: name.to_string(),
        replicas,
        autoscaler,
        storage,
    })
}

/// `KEY=VALUE` of `--tag`.
pub fn parse_tag(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}
