//! Offline checks of `[[kafka.topics]]` and `[kafka.admin]`: Kafka's own rules for topics.

use super::limits;
use super::section::*;
use crate::kinds::brokers::section::KafkaBrokers;
use crate::kinds::functions::section::LambdaFunction;
use crate::providers::kafka::KafkaAdmin;
use crate::spec::validate::*;
use crate::spec::StackSpec;

/// The kind's offline checks.
pub fn check(spec: &StackSpec, check: &mut Checker) {
    validate_topics(check, spec, spec.entries::<KafkaTopic>());
}

/// Kafka's own rules for topics (Topic.validate, the CreateTopics fields, the topic configs),
/// and what the broker section promises about replicas.
fn validate_topics(check: &mut Checker, spec: &StackSpec, topics: &[KafkaTopic]) {
    if !topics.is_empty() && admin_bootstrap_servers(spec).is_none() {
        let span = topics[0].name.span();
        check.error(
            span,
            "kafka.admin.bootstrap_servers",
            "[[kafka.topics]] needs brokers to reach, and the stack names none".into(),
            "add [kafka.admin] with bootstrap_servers = [\"HOST:PORT\"] (or a Kafka trigger's bootstrap_servers)",
        );
    }
    for (index, topic) in topics.iter().enumerate() {
        let base = format!("kafka.topics[{index}]");
        validate_name(check, topic, &base);
        validate_ranges(check, topic, &base);
        validate_replicas(check, spec, topic, &base);
        validate_cleanup_policy(check, topic, &base);
    }
    check.unique(
        topics
            .iter()
            .enumerate()
            .map(|(i, t)| (&t.name, format!("kafka.topics[{i}].name"))),
        "Kafka topic",
    );
    refuse_collisions(check, topics);
}

/// Kafka's rules for a topic name (apache/kafka `Topic.validate`).
fn validate_name(check: &mut Checker, topic: &KafkaTopic, base: &str) {
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
}

fn validate_ranges(check: &mut Checker, topic: &KafkaTopic, base: &str) {
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
}

/// The topic's replicas against the brokers' floor, and its min.insync.replicas against them.
fn validate_replicas(check: &mut Checker, spec: &StackSpec, topic: &KafkaTopic, base: &str) {
    let name = topic.name.get_ref();
    let broker_floor = spec
        .section::<KafkaBrokers>()
        .map(|b| &b.replication_factor);
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
    let replicas = topic_replication_factor(spec, topic);
    if let Some(min_isr) = &topic.min_insync_replicas {
        if *min_isr.get_ref() > replicas {
            check.error(
                min_isr.span(),
                &format!("{base}.min_insync_replicas"),
                format!(
                    "topic {name:?} has min_insync_replicas {} but only {replicas} replicas: the setting cannot hold as written (before Kafka 3.7 every acks=all write fails with NOT_ENOUGH_REPLICAS; from 3.7 Kafka caps the effective value at the replication factor, KAFKA-15583, so it means less than it says)",
                    min_isr.get_ref()
                ),
                format!("set min_insync_replicas to at most {replicas} (replication_factor - 1 lets one broker be down)"),
            );
        }
    }
}

fn validate_cleanup_policy(check: &mut Checker, topic: &KafkaTopic, base: &str) {
    let Some(policy) = &topic.cleanup_policy else {
        return;
    };
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

/// Two names Kafka reads as one: the second is refused.
fn refuse_collisions(check: &mut Checker, topics: &[KafkaTopic]) {
    for (later, topic) in topics.iter().enumerate() {
        let name = topic.name.get_ref();
        if let Some((earlier, other)) = topics[..later]
            .iter()
            .enumerate()
            .find(|(_, other)| topics_collide(other.name.get_ref(), name))
        {
            check.error(
                topic.name.span(),
                &format!("kafka.topics[{later}].name"),
                format!(
                    "Kafka topic {name:?} collides with {:?} (kafka.topics[{earlier}]): Kafka refuses the second of them (INVALID_TOPIC_EXCEPTION), since '.' and '_' are one character in its metric names",
                    other.name.get_ref()
                ),
                "rename one of them; use either '.' or '_' in topic names, not both",
            );
        }
    }
}

/// Whether Kafka takes two different topic names for one (apache/kafka `Topic.hasCollision`:
/// equal once every '.' is read as '_').
pub fn topics_collide(a: &str, b: &str) -> bool {
    a != b && a.replace('.', "_") == b.replace('.', "_")
}

/// The other names a topic would collide with, for reading whether one of them exists live:
/// each '.' or '_' either way, at most 64 names (six such characters; more are not asked for).
pub fn colliding_names(name: &str) -> Vec<String> {
    let positions: Vec<usize> = name
        .char_indices()
        .filter(|(_, c)| matches!(c, '.' | '_'))
        .map(|(i, _)| i)
        .collect();
    if positions.is_empty() || positions.len() > 6 {
        return vec![];
    }
    (0..1u32 << positions.len())
        .map(|mask| {
            let mut variant = name.as_bytes().to_vec();
            for (bit, &at) in positions.iter().enumerate() {
                variant[at] = if mask & (1 << bit) == 0 { b'.' } else { b'_' };
            }
            String::from_utf8_lossy(&variant).into_owned()
        })
        .filter(|variant| variant != name)
        .collect()
}

/// The replicas a topic gets when pipectl creates it: its own, else the brokers' floor, else 3
/// (Kafka's usual production default).
pub fn topic_replication_factor(spec: &StackSpec, topic: &KafkaTopic) -> i64 {
    topic
        .replication_factor
        .as_ref()
        .map(|r| *r.get_ref())
        .or_else(|| {
            spec.section::<KafkaBrokers>()
                .map(|b| *b.replication_factor.get_ref())
        })
        .unwrap_or(3)
}

/// Where the admin API is reached: `[kafka.admin] bootstrap_servers`, else the brokers the first
/// Kafka trigger names (`default_bootstrap_servers`).
pub fn admin_bootstrap_servers(spec: &StackSpec) -> Option<Vec<String>> {
    spec.section::<KafkaAdmin>()
        .and_then(|a| a.bootstrap_servers.as_ref())
        .map(|servers| servers.iter().map(|s| s.get_ref().clone()).collect())
        .or_else(|| default_bootstrap_servers(spec))
}

/// The brokers the first self-managed Kafka trigger reads from: where the admin API is when
/// `[kafka.admin]` does not say.
pub fn default_bootstrap_servers(spec: &StackSpec) -> Option<Vec<String>> {
    spec.entries::<LambdaFunction>()
        .iter()
        .filter_map(|f| f.kafka_trigger.as_ref())
        .find_map(|t| t.bootstrap_servers.as_ref())
        .map(|servers| servers.get_ref().clone())
}

#[cfg(test)]
mod tests {
    use super::{colliding_names, topics_collide};

    #[test]
    fn dots_and_underscores_are_one_character_to_kafka() {
        assert!(topics_collide("app.logs", "app_logs"));
        assert!(!topics_collide("app.logs", "app.logs"));
        assert!(!topics_collide("app.logs", "app-logs"));
        let mut variants = colliding_names("a.b_c");
        variants.sort();
        assert_eq!(variants, vec!["a.b.c", "a_b.c", "a_b_c"]);
        assert!(colliding_names("plain").is_empty());
    }
}
