//! Carrying out a topic's operations over the admin connection: CreateTopics, CreatePartitions,
//! IncrementalAlterConfigs, each retried on the errors Kafka says are transient, and the wait for
//! new partitions.

use super::*;

pub(super) async fn execute(
    admin: &Admin,
    wait_settings: &wait::WaitSettings,
    operation: &TopicOperation,
    progress: &StepProgress,
) -> Result<()> {
    match operation {
        TopicOperation::CreateTopics {
            topic,
            partitions,
            replication_factor,
            configs,
        } => {
            progress.status(&format!("CreateTopics {topic}"));
            let request = CreateTopicsRequest::default()
                .with_topics(vec![CreatableTopic::default()
                    .with_name(topic_name(topic))
                    .with_num_partitions(*partitions)
                    .with_replication_factor(*replication_factor)
                    .with_configs(
                        configs
                            .iter()
                            .map(|(name, value)| {
                                CreatableTopicConfig::default()
                                    .with_name(StrBytes::from_string(name.clone()))
                                    .with_value(Some(StrBytes::from_string(value.clone())))
                            })
                            .collect(),
                    )])
                .with_timeout_ms(CONTROLLER_TIMEOUT_MS);
            // TOPIC_ALREADY_EXISTS after a retry: the attempt that timed out created it.
            write(
                admin,
                progress,
                "CreateTopics",
                topic,
                request,
                |r| {
                    r.topics
                        .iter()
                        .map(|t| (t.error_code, t.error_message.clone()))
                        .collect()
                },
                TOPIC_ALREADY_EXISTS,
            )
            .await?;
            wait_for_partitions(admin, wait_settings, progress, topic, *partitions).await
        }
        TopicOperation::CreatePartitions { topic, count } => {
            progress.status(&format!("CreatePartitions {topic} to {count}"));
            let request = CreatePartitionsRequest::default()
                .with_topics(vec![CreatePartitionsTopic::default()
                    .with_name(topic_name(topic))
                    .with_count(*count)])
                .with_timeout_ms(CONTROLLER_TIMEOUT_MS);
            // INVALID_PARTITIONS after a retry: the attempt that timed out grew it (the wait
            // below checks the count).
            write(
                admin,
                progress,
                "CreatePartitions",
                topic,
                request,
                |r| {
                    r.results
                        .iter()
                        .map(|t| (t.error_code, t.error_message.clone()))
                        .collect()
                },
                INVALID_PARTITIONS,
            )
            .await?;
            wait_for_partitions(admin, wait_settings, progress, topic, *count).await
        }
        TopicOperation::IncrementalAlterConfigs { topic, set } => {
            progress.status(&format!("IncrementalAlterConfigs {topic}"));
            let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
                AlterConfigsResource::default()
                    .with_resource_type(TOPIC_RESOURCE)
                    .with_resource_name(StrBytes::from_string(topic.clone()))
                    .with_configs(
                        set.iter()
                            .map(|(name, value)| {
                                AlterableConfig::default()
                                    .with_name(StrBytes::from_string(name.clone()))
                                    .with_config_operation(SET)
                                    .with_value(Some(StrBytes::from_string(value.clone())))
                            })
                            .collect(),
                    ),
            ]);
            // SET is idempotent: a retry after a timeout sets the same values.
            write(
                admin,
                progress,
                "IncrementalAlterConfigs",
                topic,
                request,
                |r| {
                    r.responses
                        .iter()
                        .map(|t| (t.error_code, t.error_message.clone()))
                        .collect()
                },
                0,
            )
            .await
        }
    }
}

/// Each result's error code and message in a write's answer.
pub(super) type ResultCodes = Vec<(i16, Option<StrBytes>)>;

/// How often an admin write is sent before its failure is reported.
pub(super) const WRITE_ATTEMPTS: u32 = 5;

/// Sends an admin write, retrying Kafka's retriable errors (REQUEST_TIMED_OUT: the controller
/// may still complete it; NOT_CONTROLLER during a failover; ...) and a lost connection, with
/// backoff. `done_code` is the error a retry gets when an earlier attempt was carried out after
/// all (0 for none), which then counts as success.
pub(super) async fn write<R>(
    admin: &Admin,
    progress: &StepProgress,
    call: &str,
    topic: &str,
    request: R,
    errors: fn(&R::Response) -> ResultCodes,
    done_code: i16,
) -> Result<()>
where
    R: Request + Clone + Send + 'static,
    R::Response: Send,
{
    let mut delay = Duration::from_millis(500);
    for attempt in 1..=WRITE_ATTEMPTS {
        let sent = admin
            .with_connection(|c| Box::pin(c.send(request.clone())))
            .await;
        let retry = match sent {
            Err(error) => format!("{error:#}"),
            Ok(response) => {
                let mut retry = None;
                for (code, message) in errors(&response) {
                    if code == 0 || (attempt > 1 && done_code != 0 && code == done_code) {
                        continue;
                    }
                    let detail = format!(
                        "{}{}",
                        error_name(code),
                        message
                            .map(|m| format!(" ({})", m.as_str()))
                            .unwrap_or_default()
                    );
                    let retriable =
                        ResponseError::try_from_code(code).is_some_and(|e| e.is_retriable());
                    if !retriable {
                        bail!("{call} {topic} failed: {detail}");
                    }
                    retry = Some(detail);
                }
                match retry {
                    None => return Ok(()),
                    Some(detail) => detail,
                }
            }
        };
        if attempt == WRITE_ATTEMPTS {
            bail!("{call} {topic} failed {attempt} times; the last: {retry}");
        }
        progress.status(&format!(
            "{call} {topic}: {retry}; again in {} ms",
            delay.as_millis()
        ));
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
    Ok(())
}

/// Until Metadata shows `count` partitions, each with a leader.
pub(super) async fn wait_for_partitions(
    admin: &Admin,
    settings: &wait::WaitSettings,
    progress: &StepProgress,
    topic: &str,
    count: i32,
) -> Result<()> {
    wait::until(settings, progress, &format!("topic {topic}"), || async {
        let request = MetadataRequest::default()
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(topic_name(topic)))
            ]))
            .with_allow_auto_topic_creation(false);
        let metadata = admin.with_connection(|c| Box::pin(c.send(request))).await?;
        let Some(found) = metadata.topics.first() else {
            return Ok(Poll::Pending("not in Metadata yet".into()));
        };
        let led = found
            .partitions
            .iter()
            .filter(|p| p.leader_id.0 >= 0)
            .count();
        if found.error_code == 0
            && found.partitions.len() as i32 >= count
            && led == found.partitions.len()
        {
            Ok(Poll::Ready(()))
        } else {
            Ok(Poll::Pending(format!(
                "{led} of {count} partitions have a leader"
            )))
        }
    })
    .await
}
