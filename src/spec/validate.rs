//! Offline checks of a parsed stack: ranges, names and contradictions that AWS or Kubernetes
//! would reject (or, worse, accept and regret). Runs before any network call.

use std::collections::BTreeMap;

use toml::Spanned;

use super::diagnostic::Diagnostic;
use super::limits::{self, Limit};
use super::types::*;

/// A resource id prefix `[[ignore]]` may name, and the fields it may leave alone.
pub type Ignorable = (&'static str, &'static [&'static str]);

/// Collects every problem instead of stopping at the first, so one run shows them all.
#[derive(Default)]
struct Checker {
    found: Vec<Diagnostic>,
}

impl Checker {
    fn error(
        &mut self,
        span: std::ops::Range<usize>,
        field: &str,
        message: String,
        help: impl Into<String>,
    ) {
        self.found
            .push(Diagnostic::new(span, field, message, help.into()));
    }

    fn in_range(&mut self, value: &Spanned<i64>, limit: &Limit, field: &str) {
        let v = *value.get_ref();
        if !limit.contains(v) {
            let bounds = if limit.max == i64::MAX {
                format!("at least {}", limit.min)
            } else {
                format!("between {} and {}", limit.min, limit.max)
            };
            self.error(
                value.span(),
                field,
                format!("{field} is {v}, but it must be {bounds} {}", limit.unit),
                format!(
                    "set a value {bounds} ({} in AWS: {})",
                    limit.aws_name, limit.source
                ),
            );
        }
    }

    fn optional_in_range(&mut self, value: &Option<Spanned<i64>>, limit: &Limit, field: &str) {
        if let Some(value) = value {
            self.in_range(value, limit, field);
        }
    }

    fn name(
        &mut self,
        value: &Spanned<String>,
        field: &str,
        what: &str,
        max_len: usize,
        allowed: fn(char) -> bool,
        allowed_text: &str,
    ) {
        let text = value.get_ref();
        if text.is_empty() || text.chars().count() > max_len || !text.chars().all(allowed) {
            self.error(
                value.span(),
                field,
                format!("{field} {text:?} is not a valid {what}"),
                format!("use 1 to {max_len} characters: {allowed_text}"),
            );
        }
    }

    /// A name checked by a rule over the whole string (start and end characters matter).
    fn name_rule(
        &mut self,
        value: &Spanned<String>,
        field: &str,
        what: &str,
        valid: fn(&str) -> bool,
        rule: &str,
    ) {
        let text = value.get_ref();
        if !valid(text) {
            self.error(
                value.span(),
                field,
                format!("{field} {text:?} is not a valid {what}"),
                format!("use {rule}"),
            );
        }
    }

    fn unique<'a>(
        &mut self,
        names: impl Iterator<Item = (&'a Spanned<String>, String)>,
        what: &str,
    ) {
        self.unique_by(
            names.map(|(name, field)| (name.get_ref().clone(), name.span(), field)),
            what,
        );
    }

    /// Reports every identity (`key`) declared more than once, at the later declaration,
    /// naming the entry that declared it first.
    fn unique_by(
        &mut self,
        entries: impl Iterator<Item = (String, std::ops::Range<usize>, String)>,
        what: &str,
    ) {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (key, span, field) in entries {
            match seen.get(&key) {
                Some(first) => {
                    let first = first.clone();
                    self.error(
                        span,
                        &field,
                        format!("{what} {key:?} is declared twice (first at {first})"),
                        format!("each {what} may appear once; merge the two entries"),
                    );
                }
                None => {
                    seen.insert(key, field);
                }
            }
        }
    }
}

/// An AWS account id: exactly 12 digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// An AWS region code: lowercase letters in dash-separated parts ending in a number
/// (`us-east-1`, `us-gov-west-1`, `cn-north-1`, `eu-central-2`). Anything else would end up
/// in endpoint host names.
pub fn is_region_name(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    parts.len() >= 3
        && region.len() <= 32
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
}

/// Kubernetes object names (DNS-1123 subdomain): StatefulSet, HPA, StorageClass.
fn kubernetes_object_name(name: &str) -> bool {
    dns_name(name, 253, true)
}

/// Kubernetes namespaces (DNS-1123 label).
fn kubernetes_namespace(name: &str) -> bool {
    dns_name(name, 63, false)
}

fn dns_name(name: &str, max_len: usize, dots: bool) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    name.len() <= max_len
        && edge(name.chars().next())
        && edge(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (dots && c == '.'))
}

/// A name of at most `max_len` characters, each allowed by `inner`, whose first (and, with
/// `alnum_last`, last) character is a letter or digit.
fn bounded_name(name: &str, max_len: usize, alnum_last: bool, inner: fn(char) -> bool) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    name.len() <= max_len
        && alnum(name.chars().next())
        && (!alnum_last || alnum(name.chars().last()))
        && name.chars().all(inner)
}

/// EKS cluster names: 1-100 characters, a letter or digit first, then letters, digits, '-', '_'.
fn eks_cluster_name(name: &str) -> bool {
    bounded_name(name, 100, false, |c| {
        c.is_ascii_alphanumeric() || c == '-' || c == '_'
    })
}

/// SageMaker endpoint and variant names: 1-63 letters, digits and '-', a letter or digit at
/// both ends.
fn sagemaker_name(name: &str) -> bool {
    bounded_name(name, 63, true, |c| c.is_ascii_alphanumeric() || c == '-')
}

const KUBERNETES_NAME_RULE: &str =
    "1 to 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit";

fn dynamodb_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn lambda_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-')
}

fn kafka_topic_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Returns every problem found; an empty list means the stack is valid.
/// `[[alerts]]` and `[kafka.alerts]`: what Prometheus's rule loader (rulefmt) refuses. An
/// alert name must be a valid metric name, the expression set, the duration not negative.
fn validate_alerts(check: &mut Checker, spec: &StackSpec) {
    let is_metric_name = |name: &str| {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    for (index, alert) in spec.alerts.iter().enumerate() {
        let base = format!("alerts[{index}]");
        let name = alert.name.get_ref();
        if !is_metric_name(name) {
            check.error(
                alert.name.span(),
                &format!("{base}.name"),
                format!("{name:?} is not a valid alert name"),
                "Prometheus alert names are metric names: a letter, '_' or ':' first, then letters, digits, '_' and ':' (e.g. \"LambdaErrors\")",
            );
        }
        if alert.expr.trim().is_empty() {
            check.error(
                alert.name.span(),
                &format!("{base}.expr"),
                format!("alert {name:?} has an empty expr"),
                "give the PromQL expression that fires the alert, e.g. expr = \"sum(rate(errors[5m])) > 1\"",
            );
        }
        if alert.for_minutes < 0 {
            check.error(
                alert.name.span(),
                &format!("{base}.for_minutes"),
                format!("alert {name:?} has a negative for_minutes"),
                "for_minutes is how long the condition holds before the alert fires: 0 or more",
            );
        }
    }
    if let Some(alerts) = spec.kafka.as_ref().and_then(|k| k.alerts.as_ref()) {
        check.in_range(
            &alerts.under_replicated_partitions,
            &limits::ALERT_COUNT_THRESHOLD,
            "kafka.alerts.under_replicated_partitions",
        );
        check.optional_in_range(
            &alerts.consumer_lag_records,
            &limits::ALERT_COUNT_THRESHOLD,
            "kafka.alerts.consumer_lag_records",
        );
        check.optional_in_range(
            &alerts.broker_memory_percent,
            &limits::ALERT_MEMORY_PERCENT,
            "kafka.alerts.broker_memory_percent",
        );
        check.in_range(
            &alerts.for_minutes,
            &limits::ALERT_FOR_MINUTES,
            "kafka.alerts.for_minutes",
        );
    }
    check.unique(
        spec.alerts
            .iter()
            .enumerate()
            .map(|(i, a)| (&a.name, format!("alerts[{i}].name"))),
        "alert",
    );
}

/// Every offline check of a stack; `ignorable` lists the resource id prefixes `[[ignore]]` may
/// name, with their fields (the registry's, given by the caller).
pub fn validate(spec: &StackSpec, ignorable: &[Ignorable]) -> Vec<Diagnostic> {
    let mut check = Checker::default();
    validate_alerts(&mut check, spec);
    if let Some(region) = &spec.stack.region {
        if !is_region_name(region.get_ref()) {
            check.error(
                region.span(),
                "stack.region",
                format!("{:?} is not an AWS region name", region.get_ref()),
                "use a region code such as \"us-east-1\" or \"eu-central-1\"",
            );
        }
    }
    if let Some(account) = &spec.stack.account_id {
        if !is_account_id(account.get_ref()) {
            check.error(
                account.span(),
                "stack.account_id",
                format!("{:?} is not an AWS account id", account.get_ref()),
                "give the 12 digits of the account id, quoted (\"123456789012\"), as `aws sts get-caller-identity` prints it",
            );
        }
    }
    check.name(
        &spec.stack.name,
        "stack.name",
        "stack name",
        64,
        lambda_name_char,
        "letters, digits, '-' and '_'",
    );
    for (index, rule) in spec.ignore.iter().enumerate() {
        validate_ignore(&mut check, rule, &format!("ignore[{index}]"), ignorable);
    }
    if let Some(eks) = &spec.eks {
        if let Some(cluster) = &eks.cluster {
            check.name_rule(
                cluster,
                "eks.cluster",
                "EKS cluster name",
                eks_cluster_name,
                "1 to 100 letters, digits, '-' and '_', starting with a letter or digit",
            );
        }
        check.name_rule(
            &eks.namespace,
            "eks.namespace",
            "Kubernetes namespace",
            kubernetes_namespace,
            "1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit",
        );
    }
    if let Some(kafka) = &spec.kafka {
        if let Some(brokers) = &kafka.brokers {
            validate_brokers(&mut check, brokers);
        }
        if let Some(storage) = &kafka.storage {
            validate_storage(&mut check, storage);
        }
        validate_topics(&mut check, spec, kafka);
    }
    if let Some(lambda) = &spec.lambda {
        for (index, function) in lambda.functions.iter().enumerate() {
            validate_function(&mut check, function, &format!("lambda.functions[{index}]"));
        }
        check.unique(
            lambda
                .functions
                .iter()
                .enumerate()
                .map(|(i, f)| (&f.name, format!("lambda.functions[{i}].name"))),
            "Lambda function",
        );
    }
    if let Some(sagemaker) = &spec.sagemaker {
        for (index, endpoint) in sagemaker.endpoints.iter().enumerate() {
            validate_endpoint(
                &mut check,
                endpoint,
                &format!("sagemaker.endpoints[{index}]"),
            );
        }
        // Two entries for one variant would fight each other on every apply.
        check.unique_by(
            sagemaker.endpoints.iter().enumerate().map(|(i, e)| {
                (
                    format!("{}/{}", e.endpoint.get_ref(), e.variant.get_ref()),
                    e.endpoint.span(),
                    format!("sagemaker.endpoints[{i}]"),
                )
            }),
            "SageMaker variant",
        );
    }
    if let Some(dynamodb) = &spec.dynamodb {
        for (index, table) in dynamodb.tables.iter().enumerate() {
            validate_table(&mut check, table, &format!("dynamodb.tables[{index}]"));
        }
        check.unique(
            dynamodb
                .tables
                .iter()
                .enumerate()
                .map(|(i, t)| (&t.name, format!("dynamodb.tables[{i}].name"))),
            "DynamoDB table",
        );
    }
    check.found
}

/// Kafka's own rules for topics (Topic.validate, the CreateTopics fields, the topic configs),
/// and what the broker section promises about replicas.
fn validate_topics(check: &mut Checker, spec: &StackSpec, kafka: &KafkaSection) {
    if let Some(admin) = &kafka.admin {
        validate_kafka_admin(check, admin);
    }
    if !kafka.topics.is_empty() && admin_bootstrap_servers(spec).is_none() {
        let span = kafka.topics[0].name.span();
        check.error(
            span,
            "kafka.admin.bootstrap_servers",
            "[[kafka.topics]] needs brokers to reach, and the stack names none".into(),
            "add [kafka.admin] with bootstrap_servers = [\"HOST:PORT\"] (or a Kafka trigger's bootstrap_servers)",
        );
    }
    let broker_floor = kafka.brokers.as_ref().map(|b| &b.replication_factor);
    for (index, topic) in kafka.topics.iter().enumerate() {
        let base = format!("kafka.topics[{index}]");
        let name = topic.name.get_ref();
        check.name(
            &topic.name,
            &format!("{base}.name"),
            "Kafka topic name",
            249,
            kafka_topic_char,
            "letters, digits, '.', '_' and '-'",
        );
        if name == "." || name == ".." {
            check.error(
                topic.name.span(),
                &format!("{base}.name"),
                format!("{name:?} is not a valid Kafka topic name"),
                "Kafka refuses \".\" and \"..\" as topic names; pick another name",
            );
        }
        check.in_range(
            &topic.partitions,
            &limits::KAFKA_PARTITIONS,
            &format!("{base}.partitions"),
        );
        check.optional_in_range(
            &topic.replication_factor,
            &limits::KAFKA_REPLICATION_FACTOR,
            &format!("{base}.replication_factor"),
        );
        check.optional_in_range(
            &topic.retention_ms,
            &limits::KAFKA_RETENTION_MS,
            &format!("{base}.retention_ms"),
        );
        check.optional_in_range(
            &topic.min_insync_replicas,
            &limits::KAFKA_MIN_INSYNC_REPLICAS,
            &format!("{base}.min_insync_replicas"),
        );
        let replicas = topic_replication_factor(spec, topic);
        if let (Some(floor), Some(rf)) = (broker_floor, &topic.replication_factor) {
            if rf.get_ref() > floor.get_ref() {
                check.error(
                    rf.span(),
                    &format!("{base}.replication_factor"),
                    format!(
                        "topic {name:?} has replication_factor {}, above [kafka.brokers] replication_factor {}",
                        rf.get_ref(),
                        floor.get_ref()
                    ),
                    "[kafka.brokers] replication_factor is the largest of your topics' (the HPA never goes below it): raise it, with min_replicas, or lower the topic's",
                );
            }
        }
        if let Some(min_isr) = &topic.min_insync_replicas {
            if *min_isr.get_ref() > replicas {
                check.error(
                    min_isr.span(),
                    &format!("{base}.min_insync_replicas"),
                    format!(
                        "topic {name:?} has min_insync_replicas {} but only {replicas} replicas: every acks=all write would fail (NOT_ENOUGH_REPLICAS)",
                        min_isr.get_ref()
                    ),
                    format!("set min_insync_replicas to at most {replicas} (replication_factor - 1 lets one broker be down)"),
                );
            }
        }
        if let Some(policy) = &topic.cleanup_policy {
            let mut parts: Vec<&str> = policy.get_ref().split(',').map(str::trim).collect();
            parts.sort_unstable();
            parts.dedup();
            if parts.is_empty() || !parts.iter().all(|p| matches!(*p, "delete" | "compact")) {
                check.error(
                    policy.span(),
                    &format!("{base}.cleanup_policy"),
                    format!(
                        "cleanup_policy {:?} is not a Kafka cleanup policy",
                        policy.get_ref()
                    ),
                    "use \"delete\", \"compact\" or \"compact,delete\"",
                );
            }
        }
    }
    check.unique(
        kafka
            .topics
            .iter()
            .enumerate()
            .map(|(i, t)| (&t.name, format!("kafka.topics[{i}].name"))),
        "Kafka topic",
    );
}

/// The replicas a topic gets when pipectl creates it: its own, else the brokers' floor, else 3
/// (Kafka's usual production default).
pub fn topic_replication_factor(spec: &StackSpec, topic: &KafkaTopic) -> i64 {
    topic
        .replication_factor
        .as_ref()
        .map(|r| *r.get_ref())
        .or_else(|| {
            spec.kafka
                .as_ref()
                .and_then(|k| k.brokers.as_ref())
                .map(|b| *b.replication_factor.get_ref())
        })
        .unwrap_or(3)
}

/// Where the admin API is reached: `[kafka.admin] bootstrap_servers`, else the first Kafka
/// trigger's.
pub fn admin_bootstrap_servers(spec: &StackSpec) -> Option<Vec<String>> {
    let declared = spec
        .kafka
        .as_ref()
        .and_then(|k| k.admin.as_ref())
        .and_then(|a| a.bootstrap_servers.as_ref())
        .map(|servers| servers.iter().map(|s| s.get_ref().clone()).collect());
    declared.or_else(|| {
        spec.lambda
            .iter()
            .flat_map(|l| l.functions.iter())
            .filter_map(|f| f.kafka_trigger.as_ref())
            .find_map(|t| t.bootstrap_servers.as_ref())
            .map(|servers| servers.get_ref().clone())
    })
}

fn validate_kafka_admin(check: &mut Checker, admin: &KafkaAdmin) {
    for server in admin.bootstrap_servers.iter().flatten() {
        let valid = server
            .get_ref()
            .rsplit_once(':')
            .is_some_and(|(host, port)| {
                !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
            });
        if !valid {
            check.error(
                server.span(),
                "kafka.admin.bootstrap_servers",
                format!("{:?} is not HOST:PORT", server.get_ref()),
                "write each broker as \"host:port\", e.g. \"kafka-broker-0.kafka:9096\"",
            );
        }
    }
    let protocol = admin.security_protocol.get_ref().as_str();
    if !matches!(
        protocol,
        "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL"
    ) {
        check.error(
            admin.security_protocol.span(),
            "kafka.admin.security_protocol",
            format!("{protocol:?} is not a Kafka security protocol"),
            "use PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (the brokers' listener's security.protocol)",
        );
    }
    let mechanism = admin.sasl_mechanism.get_ref().as_str();
    if !matches!(mechanism, "SCRAM-SHA-512" | "SCRAM-SHA-256") {
        check.error(
            admin.sasl_mechanism.span(),
            "kafka.admin.sasl_mechanism",
            format!("{mechanism:?} is not a SASL mechanism pipectl speaks"),
            "use SCRAM-SHA-512 or SCRAM-SHA-256",
        );
    }
    match &admin.sasl_secret_arn {
        Some(secret) if !(secret.get_ref().starts_with("arn:aws") && secret.get_ref().contains(":secretsmanager:")) => {
            check.error(
                secret.span(),
                "kafka.admin.sasl_secret_arn",
                format!("{:?} is not a Secrets Manager secret ARN", secret.get_ref()),
                "use arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME",
            );
        }
        None if protocol.starts_with("SASL_") => check.error(
            admin.security_protocol.span(),
            "kafka.admin.sasl_secret_arn",
            format!("security_protocol {protocol} needs credentials, and sasl_secret_arn is not set"),
            "set sasl_secret_arn to a Secrets Manager secret holding {\"username\": ..., \"password\": ...}, or use PLAINTEXT/SSL",
        ),
        _ => {}
    }
}

fn validate_ignore(check: &mut Checker, rule: &IgnoreRule, base: &str, ignorable: &[Ignorable]) {
    let pattern = rule.resource.get_ref();
    // The fields each registered kind lets an ignore rule name.
    let Some((prefix, fields)) = ignorable
        .iter()
        .find(|(prefix, _)| pattern.starts_with(prefix))
    else {
        let kinds: Vec<String> = ignorable
            .iter()
            .map(|(prefix, _)| format!("{prefix}NAME"))
            .collect();
        check.error(
            rule.resource.span(),
            &format!("{base}.resource"),
            format!("{pattern:?} is not a resource id pipectl can ignore fields of"),
            format!(
                "use a resource id as plans show it, or a prefix ending in '*': {}",
                kinds.join(", ")
            ),
        );
        return;
    };
    if pattern.len() == prefix.len() {
        check.error(
            rule.resource.span(),
            &format!("{base}.resource"),
            format!("{pattern:?} names no resource"),
            format!("add the resource name, or '*' for all: \"{prefix}*\""),
        );
    }
    if rule.fields.is_empty() {
        check.error(
            rule.resource.span(),
            &format!("{base}.fields"),
            "an ignore rule without fields ignores nothing".to_string(),
            format!(
                "list the fields to leave alone, from: {}",
                fields.join(", ")
            ),
        );
    }
    for (index, field) in rule.fields.iter().enumerate() {
        if !fields.contains(&field.get_ref().as_str()) {
            check.error(
                field.span(),
                &format!("{base}.fields[{index}]"),
                format!(
                    "{:?} is not a field of {prefix}* that can be ignored",
                    field.get_ref()
                ),
                format!("use one of: {}", fields.join(", ")),
            );
        }
    }
}

fn validate_brokers(check: &mut Checker, brokers: &KafkaBrokers) {
    let base = "kafka.brokers";
    for (value, key, what) in [
        (&brokers.statefulset, "statefulset", "StatefulSet name"),
        (
            &brokers.hpa_name,
            "hpa_name",
            "HorizontalPodAutoscaler name",
        ),
    ] {
        check.name_rule(
            value,
            &format!("{base}.{key}"),
            what,
            kubernetes_object_name,
            KUBERNETES_NAME_RULE,
        );
    }
    check.in_range(
        &brokers.min_replicas,
        &limits::HPA_REPLICAS,
        &format!("{base}.min_replicas"),
    );
    check.in_range(
        &brokers.max_replicas,
        &limits::HPA_REPLICAS,
        &format!("{base}.max_replicas"),
    );
    check.in_range(
        &brokers.target_cpu_utilization,
        &limits::HPA_CPU_UTILIZATION,
        &format!("{base}.target_cpu_utilization"),
    );
    let (min, max) = (
        *brokers.min_replicas.get_ref(),
        *brokers.max_replicas.get_ref(),
    );
    if min > max {
        check.error(
            brokers.min_replicas.span(),
            &format!("{base}.min_replicas"),
            format!("min_replicas ({min}) is greater than max_replicas ({max})"),
            "make min_replicas less than or equal to max_replicas",
        );
    }
    let factor = *brokers.replication_factor.get_ref();
    if factor < 1 {
        check.error(
            brokers.replication_factor.span(),
            &format!("{base}.replication_factor"),
            format!("replication_factor is {factor}, but it must be at least 1"),
            "set the largest replication factor of your topics",
        );
    } else if min < factor {
        check.error(
            brokers.min_replicas.span(),
            &format!("{base}.min_replicas"),
            format!(
                "min_replicas ({min}) is below the replication factor ({factor}): scaling down to it would leave partitions under-replicated or offline"
            ),
            format!("set min_replicas to at least {factor}"),
        );
    }
    if let Some(scale_down) = &brokers.scale_down {
        let policy = scale_down.get_ref();
        match (policy.enabled, &policy.stabilization_window_seconds) {
            (true, None) => check.error(
                scale_down.span(),
                &format!("{base}.scale_down"),
                "broker scale-down is enabled without a stabilization window".to_string(),
                format!(
                    "add stabilization_window_seconds of at least {} (10 minutes), or set enabled = false",
                    limits::KAFKA_MIN_SCALE_DOWN_WINDOW_SECONDS
                ),
            ),
            (true, Some(window)) => check.in_range(
                window,
                &limits::HPA_STABILIZATION_WINDOW,
                &format!("{base}.scale_down.stabilization_window_seconds"),
            ),
            (false, Some(window)) => check.error(
                window.span(),
                &format!("{base}.scale_down.stabilization_window_seconds"),
                "stabilization_window_seconds has no effect while broker scale-down is disabled".to_string(),
                "remove it, or set enabled = true to scale down after that window",
            ),
            (false, None) => {}
        }
    }
}

fn validate_storage(check: &mut Checker, storage: &KafkaStorage) {
    let base = "kafka.storage";
    check.name_rule(
        &storage.storage_class,
        &format!("{base}.storage_class"),
        "StorageClass name",
        kubernetes_object_name,
        KUBERNETES_NAME_RULE,
    );
    if storage.volume_type.get_ref() != "gp3" {
        check.error(
            storage.volume_type.span(),
            &format!("{base}.volume_type"),
            format!(
                "volume_type {:?} is not supported",
                storage.volume_type.get_ref()
            ),
            "pipectl manages gp3 volumes only; set volume_type = \"gp3\"",
        );
    }
    if let Some(policy) = &storage.reclaim_policy {
        if !matches!(policy.get_ref().as_str(), "Delete" | "Retain") {
            check.error(
                policy.span(),
                &format!("{base}.reclaim_policy"),
                format!(
                    "reclaim_policy {:?} is not a reclaim policy in Kubernetes",
                    policy.get_ref()
                ),
                "use \"Retain\" (volumes outlive their claims) or \"Delete\"",
            );
        }
    }
    check.optional_in_range(&storage.iops, &limits::GP3_IOPS, &format!("{base}.iops"));
    check.optional_in_range(
        &storage.throughput_mibps,
        &limits::GP3_THROUGHPUT,
        &format!("{base}.throughput_mibps"),
    );
    check.optional_in_range(
        &storage.volume_size_gib,
        &limits::GP3_VOLUME_SIZE,
        &format!("{base}.volume_size_gib"),
    );
    check.optional_in_range(
        &storage.max_parallel_volume_changes,
        &limits::PARALLEL_VOLUME_CHANGES,
        &format!("{base}.max_parallel_volume_changes"),
    );
    let iops = storage
        .iops
        .as_ref()
        .map(|v| *v.get_ref())
        .unwrap_or(limits::GP3_IOPS.min);
    if let (Some(iops_value), Some(size)) = (&storage.iops, &storage.volume_size_gib) {
        let ceiling = size.get_ref().saturating_mul(limits::GP3_MAX_IOPS_PER_GIB);
        if iops > ceiling {
            check.error(
                iops_value.span(),
                &format!("{base}.iops"),
                format!(
                    "iops {iops} exceeds {} IOPS per GiB of a {} GiB volume ({ceiling})",
                    limits::GP3_MAX_IOPS_PER_GIB,
                    size.get_ref()
                ),
                format!("lower iops to {ceiling} or raise volume_size_gib"),
            );
        }
    }
    if let Some(throughput) = &storage.throughput_mibps {
        let ceiling = (iops as f64 * limits::GP3_MAX_THROUGHPUT_PER_IOPS) as i64;
        if *throughput.get_ref() > ceiling {
            check.error(
                throughput.span(),
                &format!("{base}.throughput_mibps"),
                format!(
                    "throughput {} MiB/s exceeds {} MiB/s per provisioned IOPS ({ceiling} for {iops} IOPS)",
                    throughput.get_ref(),
                    limits::GP3_MAX_THROUGHPUT_PER_IOPS
                ),
                format!("lower throughput_mibps to {ceiling} or raise iops"),
            );
        }
    }
}

fn validate_function(check: &mut Checker, function: &LambdaFunction, base: &str) {
    check.name(
        &function.name,
        &format!("{base}.name"),
        "Lambda function name",
        64,
        lambda_name_char,
        "letters, digits, '-' and '_'",
    );
    check.optional_in_range(
        &function.timeout_seconds,
        &limits::LAMBDA_TIMEOUT,
        &format!("{base}.timeout_seconds"),
    );
    check.optional_in_range(
        &function.memory_mib,
        &limits::LAMBDA_MEMORY,
        &format!("{base}.memory_mib"),
    );
    if let Some(reserved) = &function.reserved_concurrency {
        if let ReservedConcurrency::Reserved(value) = reserved.get_ref() {
            if *value < 0 {
                check.error(
                    reserved.span(),
                    &format!("{base}.reserved_concurrency"),
                    format!("reserved_concurrency is {value}, but it cannot be negative"),
                    "set a number of executions to reserve, or \"none\" to remove the reservation",
                );
            }
        }
    }
    if let Some(trigger) = &function.kafka_trigger {
        let base = format!("{base}.kafka_trigger");
        match (&trigger.msk_cluster_arn, &trigger.bootstrap_servers) {
            (Some(arn), Some(_)) => check.error(
                arn.span(),
                &format!("{base}.msk_cluster_arn"),
                "a Kafka trigger names both msk_cluster_arn and bootstrap_servers".to_string(),
                "keep msk_cluster_arn for Amazon MSK or bootstrap_servers for self-managed Kafka, not both",
            ),
            (None, None) => check.error(
                trigger.topic.span(),
                &base,
                "a Kafka trigger needs a source".to_string(),
                "add msk_cluster_arn = \"arn:aws:kafka:...\" (Amazon MSK) or bootstrap_servers = [\"host:9092\"] (self-managed)",
            ),
            (Some(arn), None) => {
                if !arn.get_ref().starts_with("arn:aws") || !arn.get_ref().contains(":kafka:") {
                    check.error(
                        arn.span(),
                        &format!("{base}.msk_cluster_arn"),
                        format!("{:?} is not an Amazon MSK cluster ARN", arn.get_ref()),
                        "use the cluster ARN, arn:aws:kafka:REGION:ACCOUNT:cluster/NAME/UUID",
                    );
                }
            }
            (None, Some(servers)) => {
                let bad = servers
                    .get_ref()
                    .iter()
                    .find(|s| s.rsplit_once(':').map(|(h, p)| h.is_empty() || p.parse::<u16>().is_err()).unwrap_or(true));
                if servers.get_ref().is_empty() || bad.is_some() {
                    check.error(
                        servers.span(),
                        &format!("{base}.bootstrap_servers"),
                        match bad {
                            Some(server) => format!("bootstrap server {server:?} is not host:port"),
                            None => "bootstrap_servers is empty".to_string(),
                        },
                        "list brokers as \"host:port\", e.g. [\"b-1.kafka.internal:9092\"]",
                    );
                }
            }
        }
        check.name(
            &trigger.topic,
            &format!("{base}.topic"),
            "Kafka topic name",
            249,
            kafka_topic_char,
            "letters, digits, '.', '_' and '-'",
        );
        check.optional_in_range(
            &trigger.batch_size,
            &limits::KAFKA_BATCH_SIZE,
            &format!("{base}.batch_size"),
        );
        check.optional_in_range(
            &trigger.batching_window_seconds,
            &limits::KAFKA_BATCHING_WINDOW,
            &format!("{base}.batching_window_seconds"),
        );
        check.optional_in_range(
            &trigger.minimum_pollers,
            &limits::KAFKA_MINIMUM_POLLERS,
            &format!("{base}.minimum_pollers"),
        );
        check.optional_in_range(
            &trigger.maximum_pollers,
            &limits::KAFKA_MAXIMUM_POLLERS,
            &format!("{base}.maximum_pollers"),
        );
        if let (Some(min), Some(max)) = (&trigger.minimum_pollers, &trigger.maximum_pollers) {
            if min.get_ref() > max.get_ref() {
                check.error(
                    min.span(),
                    &format!("{base}.minimum_pollers"),
                    format!(
                        "minimum_pollers {} is above maximum_pollers {}",
                        min.get_ref(),
                        max.get_ref()
                    ),
                    "the minimum number of pollers must not exceed the maximum",
                );
            }
        }
        validate_starting_position(check, trigger, &base);
        validate_trigger_access(check, trigger, &base);
        check.optional_in_range(
            &trigger.health_timeout_seconds,
            &limits::KAFKA_HEALTH_TIMEOUT,
            &format!("{base}.health_timeout_seconds"),
        );
    }
}

fn validate_starting_position(check: &mut Checker, trigger: &KafkaTrigger, base: &str) {
    let position = trigger.starting_position.get_ref().as_str();
    if !matches!(position, "LATEST" | "TRIM_HORIZON" | "AT_TIMESTAMP") {
        check.error(
            trigger.starting_position.span(),
            &format!("{base}.starting_position"),
            format!("starting_position {position:?} is not supported"),
            "use \"LATEST\", \"TRIM_HORIZON\" or \"AT_TIMESTAMP\" (with starting_position_timestamp)",
        );
    }
    match (position, &trigger.starting_position_timestamp) {
        ("AT_TIMESTAMP", None) => check.error(
            trigger.starting_position.span(),
            &format!("{base}.starting_position_timestamp"),
            "starting_position AT_TIMESTAMP needs starting_position_timestamp".to_string(),
            "add starting_position_timestamp = SECONDS_SINCE_THE_EPOCH",
        ),
        ("AT_TIMESTAMP", Some(t)) if *t.get_ref() < 0 => check.error(
            t.span(),
            &format!("{base}.starting_position_timestamp"),
            format!("starting_position_timestamp {} is before 1970", t.get_ref()),
            "use seconds since the Unix epoch",
        ),
        ("AT_TIMESTAMP", Some(_)) => {}
        (_, Some(t)) => check.error(
            t.span(),
            &format!("{base}.starting_position_timestamp"),
            "starting_position_timestamp is only used with starting_position = \"AT_TIMESTAMP\""
                .to_string(),
            "remove it, or set starting_position = \"AT_TIMESTAMP\"",
        ),
        _ => {}
    }
}

/// The source access configurations AWS takes for Kafka: VPC subnets and security groups
/// (self-managed brokers in a VPC; both or neither), one authentication method, a root CA.
fn validate_trigger_access(check: &mut Checker, trigger: &KafkaTrigger, base: &str) {
    let (subnets, groups) = (&trigger.vpc_subnets, &trigger.vpc_security_groups);
    let ids = [
        (subnets, "vpc_subnets", "subnet-"),
        (groups, "vpc_security_groups", "sg-"),
    ];
    for (list, key, prefix) in ids {
        if let Some(bad) = list.get_ref().iter().find(|id| !id.starts_with(prefix)) {
            check.error(
                list.span(),
                &format!("{base}.{key}"),
                format!("{bad:?} is not a {prefix}... id"),
                format!("list the ids as EC2 shows them, e.g. [\"{prefix}0123456789abcdef0\"]"),
            );
        }
    }
    if trigger.msk_cluster_arn.is_some()
        && !(subnets.get_ref().is_empty() && groups.get_ref().is_empty())
    {
        check.error(
            subnets.span(),
            &format!("{base}.vpc_subnets"),
            "vpc_subnets and vpc_security_groups are for self-managed Kafka; Amazon MSK brings its own VPC".to_string(),
            "remove them for an MSK trigger",
        );
    } else if subnets.get_ref().is_empty() != groups.get_ref().is_empty() {
        let (missing, present) = if subnets.get_ref().is_empty() {
            ("vpc_subnets", groups)
        } else {
            ("vpc_security_groups", subnets)
        };
        check.error(
            present.span(),
            &format!("{base}.{missing}"),
            format!("a Kafka trigger in a VPC needs both vpc_subnets and vpc_security_groups; {missing} is missing"),
            "Lambda's pollers reach brokers in a VPC through subnets and a security group: list both",
        );
    }
    let methods: Vec<&Spanned<String>> = [
        &trigger.sasl_scram_512_secret_arn,
        &trigger.sasl_scram_256_secret_arn,
        &trigger.client_certificate_secret_arn,
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(second) = methods.get(1) {
        check.error(
            second.span(),
            base,
            "a Kafka trigger names more than one authentication method".to_string(),
            "keep one of sasl_scram_512_secret_arn, sasl_scram_256_secret_arn and client_certificate_secret_arn",
        );
    }
    let secrets = methods
        .into_iter()
        .chain(trigger.server_root_ca_secret_arn.as_ref());
    for secret in secrets {
        if !(secret.get_ref().starts_with("arn:aws")
            && secret.get_ref().contains(":secretsmanager:"))
        {
            check.error(
                secret.span(),
                base,
                format!("{:?} is not a Secrets Manager secret ARN", secret.get_ref()),
                "use arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME",
            );
        }
    }
    if let Some(group) = &trigger.consumer_group_id {
        let valid = !group.get_ref().is_empty()
            && group.get_ref().len() <= 200
            && group
                .get_ref()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        if !valid {
            check.error(
                group.span(),
                &format!("{base}.consumer_group_id"),
                format!(
                    "consumer_group_id {:?} is not a valid Kafka consumer group id for Lambda",
                    group.get_ref()
                ),
                "use 1 to 200 letters, digits, '-', '_', '.' or ':'",
            );
        }
    }
}

fn validate_endpoint(check: &mut Checker, endpoint: &SageMakerEndpoint, base: &str) {
    for (value, key, what) in [
        (&endpoint.endpoint, "endpoint", "SageMaker endpoint name"),
        (&endpoint.variant, "variant", "SageMaker variant name"),
    ] {
        check.name_rule(
            value,
            &format!("{base}.{key}"),
            what,
            sagemaker_name,
            "1 to 63 letters, digits and '-', starting and ending with a letter or digit",
        );
    }
    check.in_range(
        &endpoint.min_capacity,
        &limits::SAGEMAKER_CAPACITY,
        &format!("{base}.min_capacity"),
    );
    check.in_range(
        &endpoint.max_capacity,
        &limits::SAGEMAKER_CAPACITY,
        &format!("{base}.max_capacity"),
    );
    let (min, max) = (
        *endpoint.min_capacity.get_ref(),
        *endpoint.max_capacity.get_ref(),
    );
    if min > max {
        check.error(
            endpoint.min_capacity.span(),
            &format!("{base}.min_capacity"),
            format!("min_capacity ({min}) is greater than max_capacity ({max})"),
            "make min_capacity less than or equal to max_capacity",
        );
    }
    let target = *endpoint.target_invocations_per_instance.get_ref();
    if !(target > 0.0 && target.is_finite()) {
        check.error(
            endpoint.target_invocations_per_instance.span(),
            &format!("{base}.target_invocations_per_instance"),
            format!("target_invocations_per_instance is {target}, but it must be above 0"),
            "set the invocations per instance per minute the autoscaler should aim for",
        );
    }
    check.optional_in_range(
        &endpoint.scale_in_cooldown_seconds,
        &limits::AUTOSCALING_COOLDOWN,
        &format!("{base}.scale_in_cooldown_seconds"),
    );
    check.optional_in_range(
        &endpoint.scale_out_cooldown_seconds,
        &limits::AUTOSCALING_COOLDOWN,
        &format!("{base}.scale_out_cooldown_seconds"),
    );
}

fn validate_table(check: &mut Checker, table: &DynamoDbTable, base: &str) {
    check.name(
        &table.name,
        &format!("{base}.name"),
        "DynamoDB table name",
        255,
        dynamodb_name_char,
        "letters, digits, '_', '-' and '.' (at least 3)",
    );
    if table.name.get_ref().len() < 3 {
        check.error(
            table.name.span(),
            &format!("{base}.name"),
            format!(
                "table name {:?} is shorter than 3 characters",
                table.name.get_ref()
            ),
            "DynamoDB table names are 3 to 255 characters long",
        );
    }
    let mode = *table.billing_mode.get_ref();
    validate_capacity(
        check,
        mode,
        &table.capacity,
        &table.billing_mode,
        &format!("{base}.capacity"),
        "the table",
    );

    // Each attribute used in any key schema must have one type across the table and its indexes.
    let mut types: BTreeMap<String, (AttributeType, String)> = BTreeMap::new();
    let mut record = |check: &mut Checker, key: &KeyAttribute, field: String| {
        let name = key.name.get_ref().clone();
        let kind = *key.attribute_type.get_ref();
        match types.get(&name) {
            Some((seen, where_seen)) if *seen != kind => check.error(
                key.attribute_type.span(),
                &format!("{field}.type"),
                format!(
                    "attribute {name:?} is declared as {} here but as {} at {where_seen}",
                    kind.as_aws(),
                    seen.as_aws()
                ),
                "DynamoDB attribute definitions have one type per attribute: use the same type everywhere",
            ),
            Some(_) => {}
            None => {
                types.insert(name, (kind, field));
            }
        }
    };
    record(check, &table.partition_key, format!("{base}.partition_key"));
    if let Some(sort) = &table.sort_key {
        record(check, sort, format!("{base}.sort_key"));
    }
    for (index, gsi) in table.global_secondary_indexes.iter().enumerate() {
        let gsi_base = format!("{base}.global_secondary_indexes[{index}]");
        check.name(
            &gsi.name,
            &format!("{gsi_base}.name"),
            "index name",
            255,
            dynamodb_name_char,
            "letters, digits, '_', '-' and '.' (at least 3)",
        );
        if gsi.name.get_ref().len() < 3 {
            check.error(
                gsi.name.span(),
                &format!("{gsi_base}.name"),
                format!(
                    "index name {:?} is shorter than 3 characters",
                    gsi.name.get_ref()
                ),
                "DynamoDB index names are 3 to 255 characters long",
            );
        }
        if gsi.remove {
            // A removal names the index only: nothing else of it is used.
            continue;
        }
        match &gsi.partition_key {
            Some(key) => record(check, key, format!("{gsi_base}.partition_key")),
            None => check.error(
                gsi.name.span(),
                &format!("{gsi_base}.partition_key"),
                format!("index {:?} has no partition_key", gsi.name.get_ref()),
                "give the index a partition_key = { name = \"attr\", type = \"S\" }, or set remove = true to delete the live index",
            ),
        }
        if let Some(sort) = &gsi.sort_key {
            record(check, sort, format!("{gsi_base}.sort_key"));
        }
        validate_capacity(
            check,
            mode,
            &gsi.capacity,
            &table.billing_mode,
            &format!("{gsi_base}.capacity"),
            &format!("index {:?}", gsi.name.get_ref()),
        );
        let include = *gsi.projection.get_ref() == ProjectionType::Include;
        if include == gsi.non_key_attributes.is_empty() {
            check.error(
                gsi.projection.span(),
                &format!("{gsi_base}.projection"),
                if include {
                    "projection INCLUDE needs non_key_attributes".to_string()
                } else {
                    "non_key_attributes is only allowed with projection INCLUDE".to_string()
                },
                "use projection = \"INCLUDE\" with non_key_attributes = [\"attr\"], or drop non_key_attributes",
            );
        }
    }
    check.unique(
        table
            .global_secondary_indexes
            .iter()
            .enumerate()
            .map(|(i, g)| {
                (
                    &g.name,
                    format!("{base}.global_secondary_indexes[{i}].name"),
                )
            }),
        "index",
    );
}

fn validate_capacity(
    check: &mut Checker,
    mode: BillingMode,
    capacity: &Option<Spanned<Capacity>>,
    billing_mode: &Spanned<BillingMode>,
    field: &str,
    owner: &str,
) {
    match (mode, capacity) {
        (BillingMode::Provisioned, None) => check.error(
            billing_mode.span(),
            field,
            format!("billing_mode is PROVISIONED but {owner} has no capacity"),
            format!("add {field} = {{ read = 5, write = 5 }} or use billing_mode = \"PAY_PER_REQUEST\""),
        ),
        (BillingMode::PayPerRequest, Some(capacity)) => check.error(
            capacity.span(),
            field,
            format!("{owner} sets capacity but billing_mode is PAY_PER_REQUEST"),
            "remove the capacity (on-demand tables have none) or use billing_mode = \"PROVISIONED\"",
        ),
        (BillingMode::Provisioned, Some(capacity)) => {
            for (unit, value) in [("read", capacity.get_ref().read), ("write", capacity.get_ref().write)] {
                if !limits::DYNAMODB_CAPACITY_UNITS.contains(value) {
                    check.error(
                        capacity.span(),
                        &format!("{field}.{unit}"),
                        format!(
                            "{unit} capacity is {value}, but it must be at least {}",
                            limits::DYNAMODB_CAPACITY_UNITS.min,
                        ),
                        format!("set {unit} to at least 1 ({})", limits::DYNAMODB_CAPACITY_UNITS.source),
                    );
                }
            }
        }
        (BillingMode::PayPerRequest, None) => {}
    }
}
