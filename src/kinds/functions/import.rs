//! `pipectl import --function NAME` (or found by `--tag`, `--name-prefix`): live functions and
//! their Kafka event source mapping, written as `[[lambda.functions]]`.

use anyhow::{anyhow, Result};

use super::{read_function, read_tags, ConsumptionMode, KafkaSource, LiveFunction, LiveMapping};
use crate::kinds::kind::{ImportContext, ImportedPart};
use crate::providers::{describe_sdk_error, Aws};
use crate::spec::write::{quoted, quoted_list, ImportFlag, StackWriter};

pub const FLAGS: &[ImportFlag] = &[ImportFlag {
    long: "function",
    value_name: "NAME",
    help: "A Lambda function, with its Kafka event source mapping (repeatable)",
    repeatable: true,
    selects: true,
}];

pub async fn import(context: &ImportContext<'_>) -> Result<Option<ImportedPart>> {
    let aws = context.aws;
    let candidates = if context.discovers() {
        list_functions(aws, context.prefix()).await?
    } else {
        vec![]
    };
    let names = context
        .names("function", candidates, |arn| async move {
            read_tags(aws, &arn).await
        })
        .await?;
    if names.is_empty() {
        return Ok(None);
    }
    let functions = futures::future::try_join_all(names.iter().map(|name| async move {
        read_function(aws, name, true)
            .await?
            .ok_or_else(|| anyhow!("Lambda function {name} does not exist in {}", aws.region))
    }))
    .await?;
    let mut out = StackWriter::default();
    for function in &functions {
        write_function(&mut out, function);
    }
    Ok(Some(ImportedPart {
        writer: out,
        namespace: None,
    }))
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

fn write_function(out: &mut StackWriter, function: &LiveFunction) {
    out.line("");
    out.line(&format!("# From Lambda function {}.", function.name));
    out.line("[[lambda.functions]]");
    out.key("name", quoted(&function.name));
    out.key("timeout_seconds", function.timeout_seconds);
    out.key("memory_mib", function.memory_mib);
    match function.reserved_concurrency {
        Some(reserved) => out.key("reserved_concurrency", reserved),
        None => out.key("reserved_concurrency", quoted("none")),
    }
    let mut mappings = function.kafka_mappings.iter();
    let Some(first) = mappings.next() else {
        return;
    };
    for other in mappings {
        out.flag(format!(
            "lambda function {}: Kafka mapping {} ({}) is not imported: a stack file holds one Kafka trigger per function, and the first plan REPLACES this mapping with the imported one",
            function.name,
            other.uuid,
            other.topics.join(", ")
        ));
    }
    write_trigger(out, first);
}

fn write_trigger(out: &mut StackWriter, mapping: &LiveMapping) {
    out.line("");
    out.line(&format!(
        "# From event source mapping {} ({}).",
        mapping.uuid, mapping.state
    ));
    out.line("[lambda.functions.kafka_trigger]");
    match &mapping.source {
        KafkaSource::Msk { cluster_arn } => out.key("msk_cluster_arn", quoted(cluster_arn)),
        KafkaSource::SelfManaged { bootstrap_servers } => {
            out.key("bootstrap_servers", quoted_list(bootstrap_servers))
        }
    }
    out.key(
        "topic",
        quoted(mapping.topics.first().map(String::as_str).unwrap_or("")),
    );
    if let Some(group) = &mapping.consumer_group_id {
        out.key("consumer_group_id", quoted(group));
    }
    let queue = mapping.consumption_mode == ConsumptionMode::Queue;
    if queue {
        out.key("consumption_mode", quoted("Queue"));
    }
    write_access(out, mapping);
    if let Some(batch) = mapping.batch_size {
        out.key("batch_size", batch);
    }
    // A share group has no batching window (and the file may not give one in Queue mode).
    if let Some(window) = mapping.batching_window_seconds.filter(|_| !queue) {
        out.key("batching_window_seconds", window);
    }
    if let Some((minimum, maximum)) = mapping.pollers {
        out.key("minimum_pollers", minimum);
        out.key("maximum_pollers", maximum);
    }
}

/// The mapping's network and authentication (`SourceAccessConfigurations`).
fn write_access(out: &mut StackWriter, mapping: &LiveMapping) {
    let of_kind = |kind: &str, prefix: &str| -> Vec<String> {
        mapping
            .access
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, uri)| uri.strip_prefix(prefix).unwrap_or(uri).to_string())
            .collect()
    };
    let subnets = of_kind("VPC_SUBNET", "subnet:");
    if !subnets.is_empty() {
        out.key("vpc_subnets", quoted_list(&subnets));
    }
    let groups = of_kind("VPC_SECURITY_GROUP", "security_group:");
    if !groups.is_empty() {
        out.key("vpc_security_groups", quoted_list(&groups));
    }
    for (kind, key) in [
        ("SASL_SCRAM_512_AUTH", "sasl_scram_512_secret_arn"),
        ("SASL_SCRAM_256_AUTH", "sasl_scram_256_secret_arn"),
        (
            "CLIENT_CERTIFICATE_TLS_AUTH",
            "client_certificate_secret_arn",
        ),
        ("SERVER_ROOT_CA_CERTIFICATE", "server_root_ca_secret_arn"),
    ] {
        if let Some(secret) = of_kind(kind, "").first() {
            out.key(key, quoted(secret));
        }
    }
}
