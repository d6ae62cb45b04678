//! The live read of topics through the admin API: one Metadata and one DescribeConfigs call.

use super::*;

/// What one Metadata and one DescribeConfigs call tell about the brokers and the topics.
pub struct LiveCluster {
    pub brokers: usize,
    pub topics: BTreeMap<String, LiveTopic>,
    /// Topics the admin user may not read (TOPIC_AUTHORIZATION_FAILED), with the ACL
    /// operation it lacks: `Describe` (Metadata) or `DescribeConfigs`.
    pub denied: Denied,
}

/// Reads the named topics: one Metadata call (never creating a topic), then one DescribeConfigs
/// call for those that exist, asking only for the managed configs.
pub async fn read(connection: &mut Connection, names: &[String]) -> Result<LiveCluster> {
    let request = MetadataRequest::default()
        .with_topics(Some(
            names
                .iter()
                .map(|n| MetadataRequestTopic::default().with_name(Some(topic_name(n))))
                .collect(),
        ))
        .with_allow_auto_topic_creation(false);
    let metadata = connection.send(request).await?;
    let (mut topics, mut denied) = topics_of(&metadata)?;
    if !topics.is_empty() {
        let keys: Vec<StrBytes> = CONFIGS
            .iter()
            .map(|(_, name)| StrBytes::from_static_str(name))
            .collect();
        let request = DescribeConfigsRequest::default().with_resources(
            topics
                .keys()
                .map(|name| {
                    DescribeConfigsResource::default()
                        .with_resource_type(TOPIC_RESOURCE)
                        .with_resource_name(StrBytes::from_string(name.clone()))
                        .with_configuration_keys(Some(keys.clone()))
                })
                .collect(),
        );
        let described = connection.send(request).await?;
        for result in described.results {
            let name = result.resource_name.as_str().to_string();
            if result.error_code == TOPIC_AUTHORIZATION_FAILED {
                topics.remove(&name);
                denied.insert(name, "DescribeConfigs");
                continue;
            }
            if result.error_code != 0 {
                bail!(
                    "DescribeConfigs of topic {name} failed: {} {}",
                    error_name(result.error_code),
                    result
                        .error_message
                        .as_ref()
                        .map(|m| m.as_str())
                        .unwrap_or("")
                );
            }
            let Some(topic) = topics.get_mut(&name) else {
                continue;
            };
            for config in result.configs {
                let Some((key, _)) = CONFIGS.iter().find(|(_, n)| *n == config.name.as_str())
                else {
                    continue;
                };
                let value = config
                    .value
                    .as_ref()
                    .map(|v| v.as_str().to_string())
                    .unwrap_or_default();
                let value = if *key == "cleanup_policy" {
                    normalized_policy(&value)
                } else {
                    value
                };
                topic.configs.insert(key.to_string(), value);
            }
        }
    }
    Ok(LiveCluster {
        brokers: metadata.brokers.len(),
        topics,
        denied,
    })
}

pub(super) fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

/// Topics the admin user may not read, with the ACL operation it lacks.
pub type Denied = BTreeMap<String, &'static str>;

/// The topics a Metadata answer shows (those that do not exist are left out), and those the
/// admin user may not describe.
pub(super) fn topics_of(
    metadata: &MetadataResponse,
) -> Result<(BTreeMap<String, LiveTopic>, Denied)> {
    let mut topics = BTreeMap::new();
    let mut denied = BTreeMap::new();
    for topic in &metadata.topics {
        let name = topic
            .name
            .as_ref()
            .map(|n| n.0.as_str().to_string())
            .unwrap_or_default();
        match topic.error_code {
            0 => {}
            UNKNOWN_TOPIC => continue,
            TOPIC_AUTHORIZATION_FAILED => {
                denied.insert(name, "Describe");
                continue;
            }
            code => bail!("Metadata of topic {name} failed: {}", error_name(code)),
        }
        let replication_factor = topic
            .partitions
            .iter()
            .map(|p| p.replica_nodes.len())
            .max()
            .unwrap_or(0);
        topics.insert(
            name,
            LiveTopic {
                partitions: topic.partitions.len() as i64,
                replication_factor: replication_factor as i64,
                configs: BTreeMap::new(),
            },
        );
    }
    Ok((topics, denied))
}
