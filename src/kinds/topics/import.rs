//! `pipectl import --topic NAME --kafka-bootstrap HOST:PORT`: live topics through the brokers'
//! admin API, written as `[[kafka.topics]]` with the `[kafka.admin]` that reached them.

use anyhow::{anyhow, Result};

use super::{read, LiveTopic};
use crate::kinds::kind::{ImportContext, ImportedPart};
use crate::providers::kafka::{self, AdminSettings};
use crate::spec::write::{quoted, quoted_list, ImportFlag, StackWriter};

pub const FLAGS: &[ImportFlag] = &[ImportFlag {
    long: "topic",
    value_name: "NAME",
    help: "A Kafka topic, read through the brokers' admin API at --kafka-bootstrap (repeatable)",
    repeatable: true,
    selects: true,
}];

pub async fn import(context: &ImportContext<'_>) -> Result<Option<ImportedPart>> {
    let names = context.values.all("topic");
    if names.is_empty() {
        return Ok(None);
    }
    let settings = context
        .kafka_admin
        .clone()
        .ok_or_else(|| anyhow!("--topic needs the brokers: pass --kafka-bootstrap HOST:PORT"))?;
    let topics = read_topics(context, &settings, names).await?;
    let mut out = StackWriter::default();
    kafka_topics(&mut out, &topics, &settings);
    Ok(Some(ImportedPart {
        writer: out,
        namespace: None,
    }))
}

/// The named topics: one Metadata and one DescribeConfigs call.
async fn read_topics(
    context: &ImportContext<'_>,
    settings: &AdminSettings,
    wanted: &[String],
) -> Result<Vec<(String, LiveTopic)>> {
    let admin = kafka::Admin::new(settings, context.aws)?;
    let names = wanted.to_vec();
    let live = admin
        .with_connection(|connection| Box::pin(async move { read(connection, &names).await }))
        .await?;
    let mut topics = vec![];
    for name in wanted {
        if let Some(operation) = live.denied.get(name) {
            anyhow::bail!(
                "Kafka topic {name} cannot be read: the admin user has no {operation} ACL on it (TOPIC_AUTHORIZATION_FAILED); grant it, e.g. kafka-acls.sh --add --allow-principal User:NAME --operation {operation} --topic {name}"
            );
        }
        let topic = live.topics.get(name).ok_or_else(|| {
            anyhow!(
                "Kafka topic {name} does not exist on {}",
                settings.servers.join(", ")
            )
        })?;
        topics.push((name.clone(), topic.clone()));
    }
    Ok(topics)
}

fn kafka_topics(out: &mut StackWriter, topics: &[(String, LiveTopic)], admin: &AdminSettings) {
    for (name, topic) in topics {
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
