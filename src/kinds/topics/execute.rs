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
            let creation = creatable(topic, *partitions, *replication_factor, configs);
            create_topic(admin, progress, topic, creation).await?;
            let all = 0..*partitions;
            wait_for_partitions(admin, wait_settings, progress, topic, all).await
        }
        TopicOperation::CreatePartitions {
            topic,
            count,
            previous,
        } => {
            grow_partitions(admin, progress, topic, *count).await?;
            let added = *previous..*count;
            wait_for_partitions(admin, wait_settings, progress, topic, added).await
        }
        TopicOperation::IncrementalAlterConfigs { topic, set } => {
            alter_configs(admin, progress, topic, set).await
        }
    }
}

async fn create_topic(
    admin: &Admin,
    progress: &StepProgress,
    topic: &str,
    creation: CreatableTopic,
) -> Result<()> {
    progress.status(&format!("CreateTopics {topic}"));
    let request = CreateTopicsRequest::default()
        .with_topics(vec![creation])
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
    .await
}

async fn grow_partitions(
    admin: &Admin,
    progress: &StepProgress,
    topic: &str,
    count: i32,
) -> Result<()> {
    progress.status(&format!("CreatePartitions {topic} to {count}"));
    let request = CreatePartitionsRequest::default()
        .with_topics(vec![growth(topic, count)])
        .with_timeout_ms(CONTROLLER_TIMEOUT_MS);
    // INVALID_PARTITIONS after a retry: the attempt that timed out grew it (the wait after it
    // checks the count).
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
    .await
}

async fn alter_configs(
    admin: &Admin,
    progress: &StepProgress,
    topic: &str,
    set: &BTreeMap<String, String>,
) -> Result<()> {
    progress.status(&format!("IncrementalAlterConfigs {topic}"));
    let configs = set
        .iter()
        .map(|(name, value)| {
            AlterableConfig::default()
                .with_name(StrBytes::from_string(name.clone()))
                .with_config_operation(SET)
                .with_value(Some(StrBytes::from_string(value.clone())))
        })
        .collect();
    let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(TOPIC_RESOURCE)
            .with_resource_name(StrBytes::from_string(topic.to_string()))
            .with_configs(configs),
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

/// One topic of a CreateTopics request (apply's, and plan's validate-only one).
pub(super) fn creatable(
    topic: &str,
    partitions: i32,
    replication_factor: i16,
    configs: &BTreeMap<String, String>,
) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(topic_name(topic))
        .with_num_partitions(partitions)
        .with_replication_factor(replication_factor)
        .with_configs(
            configs
                .iter()
                .map(|(name, value)| {
                    CreatableTopicConfig::default()
                        .with_name(StrBytes::from_string(name.clone()))
                        .with_value(Some(StrBytes::from_string(value.clone())))
                })
                .collect(),
        )
}

/// One topic of a CreatePartitions request: the new total count.
pub(super) fn growth(topic: &str, count: i32) -> CreatePartitionsTopic {
    CreatePartitionsTopic::default()
        .with_name(topic_name(topic))
        .with_count(count)
}

/// Each result's error code and message in a write's answer.
pub(super) type ResultCodes = Vec<(i16, Option<StrBytes>)>;

/// How often an admin write is sent before its failure is reported.
pub(super) const WRITE_ATTEMPTS: u32 = 5;

/// Sends an admin write, retrying Kafka's retriable errors (REQUEST_TIMED_OUT: the controller
/// may still complete it; ...) and a lost connection, with backoff. NOT_CONTROLLER (a
/// ZooKeeper-mode broker that is not the controller, or a controller failover) sends it again
/// to the controller Metadata names, at once the first time. `done_code` is the error a retry
/// gets when an earlier attempt was carried out after all (0 for none), which then counts as
/// success. IncrementalAlterConfigs goes to the bootstrap broker: any broker takes it.
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
    let to_controller = matches!(R::KEY, CREATE_TOPICS_KEY | CREATE_PARTITIONS_KEY);
    let mut delay = Duration::from_millis(500);
    let mut rerouted = false;
    for attempt in 1..=WRITE_ATTEMPTS {
        let sent = if to_controller {
            admin
                .with_controller(|c| Box::pin(c.send(request.clone())))
                .await
        } else {
            admin
                .with_connection(|c| Box::pin(c.send(request.clone())))
                .await
        };
        if let Ok(response) = &sent {
            if errors(response)
                .iter()
                .any(|(code, _)| *code == NOT_CONTROLLER)
            {
                let controller = admin.route_to_controller().await?;
                progress.status(&format!(
                    "{call} {topic}: NOT_CONTROLLER; sending it to the controller, {controller}"
                ));
                if !rerouted {
                    rerouted = true;
                    continue;
                }
            }
        }
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

/// Until Metadata shows the partitions `wanted` (by index), each with a leader. A connection
/// lost meanwhile (a broker restarting, an idle connection closed) is opened again at the next
/// poll; the wait's deadline bounds how long that is tried.
pub(super) async fn wait_for_partitions(
    admin: &Admin,
    settings: &wait::WaitSettings,
    progress: &StepProgress,
    topic: &str,
    wanted: std::ops::Range<i32>,
) -> Result<()> {
    wait::until(settings, progress, &format!("topic {topic}"), || async {
        let request = MetadataRequest::default()
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(topic_name(topic)))
            ]))
            .with_allow_auto_topic_creation(false);
        let metadata = match admin.with_connection(|c| Box::pin(c.send(request))).await {
            Ok(metadata) => metadata,
            Err(error) => {
                return Ok(Poll::Pending(format!(
                    "connection lost ({error:#}); connecting again"
                )))
            }
        };
        let Some(found) = metadata.topics.first().filter(|t| t.error_code == 0) else {
            return Ok(Poll::Pending("not in Metadata yet".into()));
        };
        let led = |index: i32| {
            found
                .partitions
                .iter()
                .any(|p| p.partition_index == index && p.leader_id.0 >= 0)
        };
        let leaderless: Vec<i32> = wanted.clone().filter(|i| !led(*i)).collect();
        if leaderless.is_empty() {
            Ok(Poll::Ready(()))
        } else {
            Ok(Poll::Pending(format!(
                "{} of {} new partitions have a leader",
                wanted.len() - leaderless.len(),
                wanted.len()
            )))
        }
    })
    .await
}
