//! The imported stack as TOML, in the order and style of `stacks/kafka-logs.toml`: `[stack]`,
//! `[eks]`, `[kafka.brokers]`, `[kafka.storage]`, functions, endpoints, tables, each block with a
//! comment saying where it came from. Deterministic (sorted, no timestamps), so importing again
//! after an apply gives the same file. A live setting pipectl would not choose is written as it
//! is, under a `# REVIEW:` comment, and listed in `flagged` for stderr.

use std::fmt::Write;

use super::{
    Imported, ImportedAlerts, ImportedKafka, ImportedStorage, ImportedTopics, ImportedVariant,
};
use crate::escape::printable;
use crate::kinds::brokers::hpa::{LiveAutoscaler, ScaleDownPolicy};
use crate::kinds::brokers::limits;
use crate::kinds::functions::{KafkaSource, LiveFunction, LiveMapping};
use crate::kinds::tables::section::BillingMode;
use crate::kinds::{tables as dynamodb, variants as sagemaker};

/// The stack file and what a person should review before the first apply.
#[derive(Debug, Default)]
pub struct Rendered {
    pub text: String,
    pub flagged: Vec<String>,
    /// `[[ignore]]` rules for live settings a stack file cannot hold as they are: (resource,
    /// field, reason). Written at the end of the file.
    ignores: Vec<(String, String, String)>,
}

impl Rendered {
    /// A `# REVIEW:` comment in the file and the same line on the list. `why` quotes live
    /// values (StorageClass parameters): it stays one comment line whatever they hold.
    fn review(&mut self, what: &str, why: &str) {
        self.line(&format!("# REVIEW: {why}"));
        self.flagged
            .push(printable(&format!("{what}: {why}")).into_owned());
    }

    /// One line of the file. Values in it are TOML-quoted (`quoted`) or numbers; comment text
    /// may quote live values, so nothing in a line can start another: a newline in a live
    /// value would otherwise plant TOML (a `[kafka.admin]` pointing elsewhere) under a comment.
    fn line(&mut self, text: &str) {
        self.text.push_str(&printable(text));
        self.text.push('\n');
    }

    fn key(&mut self, key: &str, value: impl std::fmt::Display) {
        let _ = writeln!(self.text, "{key} = {value}");
    }
}

/// A TOML string.
fn quoted(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

fn quoted_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|i| quoted(i)).collect();
    format!("[{}]", items.join(", "))
}

/// A float as the stack files write it: whole numbers without a fraction.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

pub fn render(imported: &Imported) -> Rendered {
    let mut out = Rendered::default();
    out.line(&format!(
        "# Imported by `pipectl import` from AWS account {}, region {}.",
        imported.account, imported.region
    ));
    out.line(
        "# Each block says where it came from. Lines under \"# REVIEW:\" are live settings pipectl",
    );
    out.line("# would not choose; they are kept as they are, so the first plan changes nothing.");
    out.line("");
    out.line("[stack]");
    out.key("name", quoted(&imported.stack_name));
    out.key("region", quoted(&imported.region));
    out.key("account_id", quoted(&imported.account));
    let namespace = imported
        .kafka
        .as_ref()
        .map(|k| &k.namespace)
        .or(imported.alerts.as_ref().map(|a| &a.namespace));
    if let Some(namespace) = namespace {
        out.line("");
        out.line("[eks]");
        if let Some(cluster) = &imported.cluster {
            out.key("cluster", quoted(cluster));
        }
        if let Some(context) = &imported.kube_context {
            out.key("kube_context", quoted(context));
        }
        out.key("namespace", quoted(namespace));
    }
    if let Some(kafka) = &imported.kafka {
        brokers(&mut out, kafka);
        if let Some(storage) = &kafka.storage {
            broker_storage(&mut out, kafka, storage);
        }
    }
    if let Some(topics) = &imported.topics {
        kafka_topics(&mut out, topics);
    }
    for function in &imported.functions {
        lambda_function(&mut out, function);
    }
    for variant in &imported.variants {
        sagemaker_variant(&mut out, variant, &imported.stack_name);
    }
    for table in &imported.tables {
        dynamodb_table(&mut out, table, &imported.insights);
    }
    if let Some(alerts) = &imported.alerts {
        alert_rules(&mut out, alerts, &imported.stack_name);
    }
    for (resource, field, reason) in std::mem::take(&mut out.ignores) {
        out.line("");
        out.line("[[ignore]]");
        out.key("resource", quoted(&resource));
        out.key("fields", quoted_list(&[field]));
        out.key("reason", quoted(&reason));
    }
    out
}

fn brokers(out: &mut Rendered, kafka: &ImportedKafka) {
    let sts = format!("StatefulSet {}/{}", kafka.namespace, kafka.statefulset);
    out.line("");
    let Some((hpa_name, hpa)) = &kafka.autoscaler else {
        out.line(&format!(
            "# {sts} ({} replicas) has no HorizontalPodAutoscaler: [kafka.brokers] would create one.",
            kafka.replicas
        ));
        out.flagged.push(format!(
            "{sts}: no HorizontalPodAutoscaler scales it; [kafka.brokers] is left out"
        ));
        return;
    };
    out.line(&format!(
        "# From HorizontalPodAutoscaler {}/{hpa_name}, which scales {sts} ({} replicas now).",
        kafka.namespace, kafka.replicas
    ));
    let Some(cpu) = hpa.target_cpu_utilization else {
        out.flagged.push(format!(
            "{sts}: its HPA {hpa_name} has no CPU utilization target, which [kafka.brokers] needs; left out"
        ));
        out.line("# Left out: the HPA has no CPU utilization target, which [kafka.brokers] needs.");
        return;
    };
    out.line("[kafka.brokers]");
    out.key("statefulset", quoted(&kafka.statefulset));
    out.key("hpa_name", quoted(hpa_name));
    out.key("min_replicas", hpa.min_replicas);
    out.key("max_replicas", hpa.max_replicas);
    if hpa.other_metrics > 0 {
        out.review(
            &format!("HPA {hpa_name}"),
            &format!(
                "it has {} metric(s) besides CPU, which pipectl's HPA does not keep: the first apply removes them",
                hpa.other_metrics
            ),
        );
    }
    out.key("target_cpu_utilization", cpu);
    let replication = hpa.min_replicas.clamp(1, 3);
    out.review(
        &format!("HPA {hpa_name}"),
        "Kubernetes does not know the topics' replication factor: set replication_factor to theirs (kafka-topics.sh --describe); min_replicas must not be below it",
    );
    out.key("replication_factor", replication);
    scale_down(out, kafka, hpa_name, hpa);
}

fn scale_down(out: &mut Rendered, kafka: &ImportedKafka, hpa_name: &str, hpa: &LiveAutoscaler) {
    let ScaleDownPolicy::Enabled {
        stabilization_window_seconds: window,
    } = hpa.scale_down
    else {
        out.key("scale_down", "{ enabled = false }");
        return;
    };
    let what = format!("HPA {hpa_name}");
    let risk = "removing a broker that holds replicas under-replicates partitions";
    if (limits::HPA_STABILIZATION_WINDOW.min..=limits::HPA_STABILIZATION_WINDOW.max)
        .contains(&window)
    {
        out.review(
            &what,
            &format!("scale-down is enabled (window {window}s): {risk}; pipectl's safe setting is {{ enabled = false }}"),
        );
        out.key(
            "scale_down",
            format!("{{ enabled = true, stabilization_window_seconds = {window} }}"),
        );
        return;
    }
    // A window pipectl does not accept for brokers cannot be written as it is: the file asks
    // for the safe setting and an [[ignore]] rule keeps the live one until someone decides.
    out.review(
        &what,
        &format!(
            "scale-down is enabled with a {window}s window ({risk}; pipectl accepts {}-{}s): the file asks for {{ enabled = false }} and an [[ignore]] rule at the end keeps the live setting; remove the rule to apply it",
            limits::KAFKA_MIN_SCALE_DOWN_WINDOW_SECONDS,
            limits::HPA_STABILIZATION_WINDOW.max
        ),
    );
    out.key("scale_down", "{ enabled = false }");
    out.ignores.push((
        format!("eks.hpa.{}/{hpa_name}", kafka.namespace),
        "scale_down".to_string(),
        format!(
            "imported: scale-down enabled with a {window}s window; decide, then remove this rule"
        ),
    ));
}

/// The StorageClass parameters a stack file holds.
const CLASS_PARAMETERS: &[&str] = &["type", "iops", "throughput", "encrypted", "kmsKeyId"];

fn broker_storage(out: &mut Rendered, kafka: &ImportedKafka, storage: &ImportedStorage) {
    let class = &storage.class;
    out.line("");
    out.line(&format!(
        "# From StorageClass {} and the {} volume claim(s) of StatefulSet {}/{}.",
        storage.class_name,
        storage.claim_sizes_gib.len(),
        kafka.namespace,
        kafka.statefulset
    ));
    out.line("[kafka.storage]");
    out.key("storage_class", quoted(&storage.class_name));
    if class.provisioner != "ebs.csi.aws.com" {
        out.review(
            &format!("StorageClass {}", storage.class_name),
            &format!(
                "its provisioner is {}, not the EBS CSI driver (ebs.csi.aws.com) pipectl writes",
                class.provisioner
            ),
        );
    }
    let parameter = |name: &str| class.parameters.get(name).cloned();
    out.key(
        "volume_type",
        quoted(&parameter("type").unwrap_or_else(|| "gp3".to_string())),
    );
    if let Some(iops) = parameter("iops") {
        out.key("iops", iops);
    }
    if let Some(throughput) = parameter("throughput") {
        out.key("throughput_mibps", throughput);
    }
    out.key(
        "encrypted",
        parameter("encrypted").is_some_and(|e| e.eq_ignore_ascii_case("true")),
    );
    if let Some(key) = parameter("kmsKeyId") {
        out.key("kms_key_id", quoted(&key));
    }
    out.key("reclaim_policy", quoted(&class.reclaim_policy));
    let others: Vec<String> = class
        .parameters
        .iter()
        .filter(|(k, _)| !CLASS_PARAMETERS.iter().any(|p| p.eq_ignore_ascii_case(k)))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !others.is_empty() {
        let why = format!(
            "the class also has {}, which a stack file cannot hold: the first plan replaces the class without it",
            others.join(", ")
        );
        out.review(&format!("StorageClass {}", storage.class_name), &why);
    }
    let sizes: Vec<i64> = storage.claim_sizes_gib.values().copied().collect();
    if let Some(largest) = sizes.iter().max() {
        if sizes.iter().any(|s| s != largest) {
            out.review(
                &format!("StatefulSet {}/{}", kafka.namespace, kafka.statefulset),
                &format!(
                    "its claims differ in size ({}): the first plan grows the smaller ones to {largest} GiB",
                    storage
                        .claim_sizes_gib
                        .iter()
                        .map(|(claim, size)| format!("{claim} {size} GiB"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        out.key("volume_size_gib", largest);
    }
}

fn lambda_function(out: &mut Rendered, function: &LiveFunction) {
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
        out.flagged.push(format!(
            "lambda function {}: Kafka mapping {} ({}) is not imported: a stack file holds one Kafka trigger per function, and the first plan REPLACES this mapping with the imported one",
            function.name,
            other.uuid,
            other.topics.join(", ")
        ));
    }
    kafka_trigger(out, first);
}

fn kafka_trigger(out: &mut Rendered, mapping: &LiveMapping) {
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
    if let Some(batch) = mapping.batch_size {
        out.key("batch_size", batch);
    }
    if let Some(window) = mapping.batching_window_seconds {
        out.key("batching_window_seconds", window);
    }
    if let Some((minimum, maximum)) = mapping.pollers {
        out.key("minimum_pollers", minimum);
        out.key("maximum_pollers", maximum);
    }
}

fn sagemaker_variant(out: &mut Rendered, variant: &ImportedVariant, stack: &str) {
    let id = sagemaker::resource_id(&variant.endpoint, &variant.variant);
    out.line("");
    for variantless in &variant.variantless_ids {
        out.flagged.push(format!(
            "scalable target {variantless}: its resource id names no variant, so it scales nothing; pipectl scales {id}. Deregister it by hand"
        ));
    }
    let complete = match (&variant.target, &variant.policy) {
        (Some(target), Some(policy)) => policy.target_value.map(|value| (target, policy, value)),
        _ => None,
    };
    let Some(((min, max), policy, target_value)) = complete else {
        out.flagged.push(format!(
            "SageMaker variant {}/{}: not scaled by a target-tracking policy on invocations per instance; its block is commented out (uncomment it to have pipectl register it)",
            variant.endpoint, variant.variant
        ));
        out.line(&format!(
            "# SageMaker variant {}/{} has no scalable target with an invocations-per-instance policy.",
            variant.endpoint, variant.variant
        ));
        out.line("# Uncomment to have pipectl scale it:");
        out.line("# [[sagemaker.endpoints]]");
        out.line(&format!("# endpoint = {}", quoted(&variant.endpoint)));
        out.line(&format!("# variant = {}", quoted(&variant.variant)));
        let (min, max) = variant.target.unwrap_or((1, 1));
        out.line(&format!("# min_capacity = {min}"));
        out.line(&format!("# max_capacity = {max}"));
        out.line("# target_invocations_per_instance = 1000");
        return;
    };
    out.line(&format!(
        "# From scalable target {id} and its policy {}.",
        policy.name
    ));
    out.line("[[sagemaker.endpoints]]");
    out.key("endpoint", quoted(&variant.endpoint));
    out.key("variant", quoted(&variant.variant));
    out.key("min_capacity", min);
    out.key("max_capacity", max);
    out.key("target_invocations_per_instance", number(target_value));
    if let Some(cooldown) = policy.scale_in_cooldown_seconds {
        out.key("scale_in_cooldown_seconds", cooldown);
    }
    if let Some(cooldown) = policy.scale_out_cooldown_seconds {
        out.key("scale_out_cooldown_seconds", cooldown);
    }
    if variant.multi_model {
        out.key("multi_model", true);
    }
    if policy.name != sagemaker::policy_name(stack) {
        out.key("policy_name", quoted(&policy.name));
    }
}

fn key_table(key: &dynamodb::Key) -> String {
    format!(
        "{{ name = {}, type = {} }}",
        quoted(&key.name),
        quoted(&key.attribute_type)
    )
}

fn capacity_table(capacity: &crate::kinds::tables::section::Capacity) -> String {
    format!("{{ read = {}, write = {} }}", capacity.read, capacity.write)
}

fn dynamodb_table(out: &mut Rendered, table: &dynamodb::LiveTable, insights: &[String]) {
    out.line("");
    out.line(&format!("# From DynamoDB table {}.", table.name));
    out.line("[[dynamodb.tables]]");
    out.key("name", quoted(&table.name));
    out.key("billing_mode", quoted(table.billing_mode.as_aws()));
    if let Some(key) = &table.partition_key {
        out.key("partition_key", key_table(key));
    }
    if let Some(key) = &table.sort_key {
        out.key("sort_key", key_table(key));
    }
    if table.billing_mode == BillingMode::Provisioned {
        if let Some(capacity) = &table.capacity {
            out.key("capacity", capacity_table(capacity));
        }
    }
    if insights.contains(&table.name) {
        out.key("contributor_insights", true);
    }
    let mut indexes: Vec<&dynamodb::LiveIndex> = table.indexes.iter().collect();
    indexes.sort_by(|a, b| a.definition.name.cmp(&b.definition.name));
    for index in indexes {
        let definition = &index.definition;
        out.line("");
        out.line("[[dynamodb.tables.global_secondary_indexes]]");
        out.key("name", quoted(&definition.name));
        out.key("partition_key", key_table(&definition.partition_key));
        if let Some(key) = &definition.sort_key {
            out.key("sort_key", key_table(key));
        }
        out.key("projection", quoted(&definition.projection));
        if !definition.non_key_attributes.is_empty() {
            out.key(
                "non_key_attributes",
                quoted_list(&definition.non_key_attributes),
            );
        }
        if table.billing_mode == BillingMode::Provisioned {
            if let Some(capacity) = &definition.capacity {
                out.key("capacity", capacity_table(capacity));
            }
        }
        if insights.contains(&format!("{}/{}", table.name, definition.name)) {
            out.key("contributor_insights", true);
        }
    }
}

fn kafka_topics(out: &mut Rendered, imported: &ImportedTopics) {
    for (name, topic) in &imported.topics {
        out.line("");
        out.line(&format!(
            "# From Kafka topic {name} ({} partitions, {} replicas each).",
            topic.partitions, topic.replication_factor
        ));
        out.line("[[kafka.topics]]");
        out.key("name", quoted(name));
        out.key("partitions", topic.partitions);
        out.key("replication_factor", topic.replication_factor);
        for (key, value) in &topic.configs {
            match key.as_str() {
                "cleanup_policy" => out.key(key, quoted(value)),
                // Numbers as Kafka reports them; a value that is not one is left out (unmanaged).
                _ => match value.parse::<i64>() {
                    Ok(number) => out.key(key, number),
                    Err(_) => out.line(&format!("# {key}: {value:?} is not a number; not managed")),
                },
            }
        }
    }
    let admin = &imported.admin;
    out.line("");
    out.line("# How pipectl reached the brokers (--kafka-bootstrap and the --kafka-* flags).");
    out.line("[kafka.admin]");
    let loopback = admin
        .servers
        .iter()
        .any(|s| s.starts_with("127.") || s.starts_with("localhost:") || s.starts_with("[::1]"));
    if loopback {
        out.review(
            "[kafka.admin] bootstrap_servers",
            "these are local addresses (a port-forward?): write the brokers' own here, and pass --kafka-bootstrap for the port-forward",
        );
    }
    out.key("bootstrap_servers", quoted_list(&admin.servers));
    out.key("security_protocol", quoted(&admin.security_protocol));
    if admin.security_protocol.starts_with("SASL_") {
        out.key("sasl_mechanism", quoted(&admin.sasl_mechanism));
    }
    if let Some(secret) = &admin.sasl_secret_arn {
        out.key("sasl_secret_arn", quoted(secret));
    }
}

fn alert_rules(out: &mut Rendered, imported: &ImportedAlerts, stack: &str) {
    let source = format!("PrometheusRule {}/{}", imported.namespace, imported.name);
    let own = format!("pipectl-{stack}-alerts");
    if imported.name != own {
        out.line("");
        out.review(
            &source,
            &format!("pipectl writes these rules to PrometheusRule {}/{own}: after the first apply, delete {source}, or every alert fires twice", imported.namespace),
        );
    }
    if !imported.recording.is_empty() {
        out.flagged.push(format!(
            "{source}: recording rules are not alerts and are left out: {}",
            imported.recording.join(", ")
        ));
    }
    if !imported.rounded.is_empty() {
        out.flagged.push(format!(
            "{source}: `for` is kept in whole minutes, rounded up: {}",
            imported.rounded.join(", ")
        ));
    }
    for rule in &imported.rules {
        out.line("");
        out.line(&format!("# From {source}."));
        out.line("[[alerts]]");
        out.key("name", quoted(&rule.alert));
        out.key("expr", quoted(&rule.expr));
        out.key("for_minutes", rule.minutes);
        out.key("severity", quoted(&rule.severity));
        out.key("summary", quoted(&rule.summary));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A StorageClass parameter with a newline cannot plant TOML under a `# REVIEW:` comment.
    #[test]
    fn a_live_value_in_a_comment_stays_in_the_comment() {
        let mut out = Rendered::default();
        out.line("[stack]");
        out.key("name", quoted("imported"));
        out.review(
            "StorageClass kafka-gp3",
            "parameter tagSpecification_1 = \"x\n[kafka.admin]\nbootstrap_servers = [\"evil.example:9092\"]\"",
        );
        let table: toml::Table = out.text.parse().expect("the imported file is TOML");
        assert!(table.get("kafka").is_none(), "{}", out.text);
        assert_eq!(out.text.lines().count(), 3, "{}", out.text);
        assert!(!out.flagged[0].contains('\n'));
    }
}
