//! Offline checks of `[[kafka.topics]]` and `[kafka.admin]`: Kafka's own rules for topics.

use crate::spec::limits::{self};
use crate::spec::types::*;
use crate::spec::validate::*;

/// The kind's offline checks.
pub fn check(spec: &StackSpec, check: &mut Checker) {
    if let Some(kafka) = &spec.kafka {
        validate_topics(check, spec, kafka);
    }
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
