//! A function's Kafka event source mapping (the trigger): its definition from the stack file, its read (one mapping per function, or one account-wide listing), its diff (update in place, replace when only a new mapping can change it, delete one left elsewhere), and its creation and the waits until Lambda can consume.

use super::*;

impl TriggerDefinition {
    /// Leaves one field alone (an `[[ignore]]` rule).
    pub fn ignore(&mut self, field: &str) {
        match field {
            "batch_size" => self.batch_size = None,
            "batching_window_seconds" => self.batching_window_seconds = None,
            "minimum_pollers" => self.minimum_pollers = None,
            "maximum_pollers" => self.maximum_pollers = None,
            _ => {}
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TriggerDefinition {
    pub source: KafkaSource,
    pub topic: String,
    pub batch_size: Option<i64>,
    pub batching_window_seconds: Option<i64>,
    pub starting_position: String,
    #[serde(default)]
    pub starting_position_timestamp: Option<i64>,
    #[serde(default)]
    pub consumer_group_id: Option<String>,
    /// Stream or Queue: set when the mapping is created, never updated.
    #[serde(default)]
    pub consumption_mode: ConsumptionMode,
    /// AWS `SourceAccessConfigurations`: (type, URI), sorted.
    #[serde(default)]
    pub access: Vec<(String, String)>,
    /// How long apply waits for `LastProcessingResult: OK`.
    #[serde(default)]
    pub health_timeout_seconds: u64,
    /// Provisioned mode (`ProvisionedPollerConfig`): the fewest and most event pollers.
    #[serde(default)]
    pub minimum_pollers: Option<i64>,
    #[serde(default)]
    pub maximum_pollers: Option<i64>,
    /// `prune = true`: another owner's mapping on another topic may be replaced.
    #[serde(default)]
    pub prune: bool,
    /// Tags the mapping is created with (`pipectl:stack` marks it as pipectl's).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// The spec's VPC and authentication settings as AWS `SourceAccessConfigurations`.
pub(super) fn access_from_spec(
    trigger: &crate::kinds::functions::section::KafkaTrigger,
) -> Vec<(String, String)> {
    let mut access: Vec<(String, String)> = vec![];
    for subnet in trigger.vpc_subnets.get_ref() {
        access.push(("VPC_SUBNET".into(), format!("subnet:{subnet}")));
    }
    for group in trigger.vpc_security_groups.get_ref() {
        access.push((
            "VPC_SECURITY_GROUP".into(),
            format!("security_group:{group}"),
        ));
    }
    for (kind, secret) in [
        ("SASL_SCRAM_512_AUTH", &trigger.sasl_scram_512_secret_arn),
        ("SASL_SCRAM_256_AUTH", &trigger.sasl_scram_256_secret_arn),
        (
            "CLIENT_CERTIFICATE_TLS_AUTH",
            &trigger.client_certificate_secret_arn,
        ),
        (
            "SERVER_ROOT_CA_CERTIFICATE",
            &trigger.server_root_ca_secret_arn,
        ),
    ] {
        if let Some(secret) = secret {
            access.push((kind.into(), secret.get_ref().clone()));
        }
    }
    access.sort();
    access
}

/// Each `SourceAccessConfiguration` as `TYPE=URI`, the element of `access` diffs.
fn access_entries(access: &[(String, String)]) -> Vec<String> {
    access
        .iter()
        .map(|(kind, uri)| format!("{kind}={uri}"))
        .collect()
}

/// The source's diff: between two self-managed clusters, bootstrap server by server;
/// otherwise the whole source.
fn source_diffs(live: &KafkaSource, wanted: &KafkaSource) -> Vec<FieldDiff> {
    match (live, wanted) {
        (_, _) if live == wanted => vec![],
        (
            KafkaSource::SelfManaged {
                bootstrap_servers: before,
            },
            KafkaSource::SelfManaged {
                bootstrap_servers: after,
            },
        ) => FieldDiff::elements("bootstrap_servers", before, after),
        _ => vec![FieldDiff::new(
            "source",
            Some(live.to_string()),
            Some(wanted.to_string()),
        )],
    }
}

pub(super) fn show_access(access: &[(String, String)]) -> String {
    if access.is_empty() {
        return "none".into();
    }
    access_entries(access).join(", ")
}

/// ListEventSourceMappings, every page: of one function, or of the whole account.
pub async fn list_mappings(
    aws: &Aws,
    function: Option<&str>,
) -> Result<Vec<aws_sdk_lambda::types::EventSourceMappingConfiguration>> {
    aws.lambda
        .list_event_source_mappings()
        .set_function_name(function.map(str::to_string))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| {
            anyhow!(
                "ListEventSourceMappings{} failed: {}",
                function.map(|f| format!(" {f}")).unwrap_or_default(),
                describe_sdk_error(&e)
            )
        })
}

/// The consumer groups of a function's Kafka mappings on `topic`: for a trigger that names no
/// `consumer_group_id`, Lambda's group is the mapping's UUID, known only from the live mapping.
pub async fn consumer_groups_of(aws: &Aws, function: &str, topic: &str) -> Result<Vec<String>> {
    let mappings = kafka_mappings(&list_mappings(aws, Some(function)).await?);
    Ok(mappings
        .into_iter()
        .filter(|m| m.topics.iter().any(|t| t == topic))
        .filter_map(|m| m.consumer_group_id)
        .collect())
}

/// The mappings of one (unqualified) function in an account-wide listing: what
/// ListEventSourceMappings with FunctionName=name returns.
pub fn mappings_of(
    listing: &[aws_sdk_lambda::types::EventSourceMappingConfiguration],
    name: &str,
) -> Vec<aws_sdk_lambda::types::EventSourceMappingConfiguration> {
    listing
        .iter()
        .filter(|m| {
            m.function_arn()
                .and_then(|arn| arn.split_once(":function:"))
                .is_some_and(|(_, function)| function == name)
        })
        .cloned()
        .collect()
}

/// The Kafka mappings among a function's mappings.
pub(super) fn kafka_mappings(
    mappings: &[aws_sdk_lambda::types::EventSourceMappingConfiguration],
) -> Vec<LiveMapping> {
    mappings
        .iter()
        .filter_map(|m| {
            let source = if let Some(arn) = m.event_source_arn().filter(|a| a.contains(":kafka:")) {
                KafkaSource::Msk {
                    cluster_arn: arn.to_string(),
                }
            } else {
                let servers = m
                    .self_managed_event_source()
                    .and_then(|s| s.endpoints())
                    .and_then(|e| e.get(&EndPointType::KafkaBootstrapServers))?;
                KafkaSource::SelfManaged {
                    bootstrap_servers: servers.clone(),
                }
            };
            live_mapping(m, source)
        })
        .collect()
}

/// Tells pipectl's own Kafka mappings of a function from another owner's: their tags are read
/// only for mappings the plan could replace (on another topic or cluster than the file's, or
/// with another consumer group, or any with `--replace`), and for every Kafka mapping of a
/// function whose file names no trigger (one this stack made is a leftover).
pub(super) async fn read_mapping_owners(
    aws: &Aws,
    desired: &FunctionDefinition,
    live: &mut Option<LiveFunction>,
    replacing: bool,
) -> Result<()> {
    let Some(live) = live.as_mut() else {
        return Ok(());
    };
    for mapping in live.kafka_mappings.iter_mut() {
        let owner_matters = match &desired.trigger {
            None => true,
            Some(trigger) => {
                let same = mapping.source == trigger.source
                    && mapping.topics == [trigger.topic.clone()]
                    && trigger
                        .consumer_group_id
                        .as_ref()
                        .is_none_or(|g| Some(g) == mapping.consumer_group_id.as_ref());
                !((same && !replacing) || trigger.prune)
            }
        };
        if let (true, Some(arn)) = (owner_matters, mapping.arn.clone()) {
            let tags = read_tags(aws, &arn).await?;
            mapping.created_by_pipectl = Some(tags.contains_key(STACK_TAG));
            mapping.owner = tags.get(STACK_TAG).cloned();
        }
    }
    Ok(())
}

/// The function's file names no trigger, yet Kafka mappings this stack made are on it (the
/// trigger was removed from the file): each is deleted, a destructive change. Mappings of
/// another owner are not this stack's to delete.
pub(super) fn plan_removed_trigger(
    function: &str,
    stack: &str,
    live: &[LiveMapping],
    lane: &str,
) -> Option<Change> {
    let ours: Vec<&LiveMapping> = live
        .iter()
        .filter(|m| m.owner.as_deref() == Some(stack))
        .collect();
    let first = ours.first()?;
    let diffs = vec![
        FieldDiff::new("source", Some(first.source.to_string()), None),
        FieldDiff::new("topic", Some(first.topics.join(",")), None),
    ];
    let steps = ours
        .iter()
        .map(|m| delete_mapping_step(function, &m.uuid))
        .collect();
    Some(Change {
        diffs,
        steps,
        destructive: true,
        hazards: vec![Hazard {
            message: format!(
                "the file no longer names a Kafka trigger for {function}: the mapping stack {stack} made is deleted and the function stops consuming {}",
                first.topics.join(",")
            ),
        }],
        ..Change::new(
            ResourceId::new(KAFKA_TRIGGER, function),
            Action::Delete,
            lane.to_string(),
        )
    })
}

/// Whether the plan may delete this mapping: pipectl made it, or the file says `prune`.
pub(super) fn may_replace(trigger: &TriggerDefinition, mapping: &LiveMapping) -> bool {
    trigger.prune || mapping.created_by_pipectl.unwrap_or(false)
}

pub(super) fn live_mapping(
    m: &aws_sdk_lambda::types::EventSourceMappingConfiguration,
    source: KafkaSource,
) -> Option<LiveMapping> {
    let mut access: Vec<(String, String)> = m
        .source_access_configurations()
        .iter()
        .filter_map(|c| Some((c.r#type()?.as_str().to_string(), c.uri()?.to_string())))
        .collect();
    access.sort();
    let consumer_group_id = m
        .amazon_managed_kafka_event_source_config()
        .and_then(|c| c.consumer_group_id())
        .or_else(|| {
            m.self_managed_kafka_event_source_config()
                .and_then(|c| c.consumer_group_id())
        })
        .map(str::to_string);
    // Absent means Stream, the default (and the only mode of MSK mappings).
    let consumption_mode = match m
        .self_managed_kafka_event_source_config()
        .and_then(|c| c.consumption_mode())
    {
        Some(KafkaEventSourceMappingConsumptionMode::Queue) => ConsumptionMode::Queue,
        _ => ConsumptionMode::Stream,
    };
    Some(LiveMapping {
        uuid: m.uuid()?.to_string(),
        source,
        topics: m.topics().to_vec(),
        batch_size: m.batch_size().map(i64::from),
        batching_window_seconds: m.maximum_batching_window_in_seconds().map(i64::from),
        state: m.state().unwrap_or("Enabled").to_string(),
        consumer_group_id,
        consumption_mode,
        access,
        last_processing_result: m.last_processing_result().map(str::to_string),
        state_reason: m.state_transition_reason().map(str::to_string),
        pollers: m.provisioned_poller_config().map(|c| {
            (
                c.minimum_pollers().map(i64::from).unwrap_or(1),
                c.maximum_pollers().map(i64::from).unwrap_or(200),
            )
        }),
        arn: m.event_source_mapping_arn().map(str::to_string),
        created_by_pipectl: None,
        owner: None,
    })
}

pub(super) fn plan_trigger(
    function: &str,
    trigger: &TriggerDefinition,
    live: &[LiveMapping],
    lane: String,
) -> Change {
    let id = ResourceId::new(KAFKA_TRIGGER, function);
    let same_stream =
        |m: &&LiveMapping| m.source == trigger.source && m.topics == [trigger.topic.clone()];
    let mut change = match live.iter().find(same_stream) {
        Some(current) if set_at_creation_diffs(trigger, current).is_empty() => Change {
            unhealthy: health(current),
            ..plan_trigger_update(function, trigger, current)
        },
        // Same source and topic: AWS allows one such mapping per function, so the old one goes first.
        Some(current) if may_replace(trigger, current) => {
            plan_trigger_replace(function, trigger, current, true)
        }
        Some(current) => plan_trigger_foreign_group(function, trigger, current),
        // A Kafka mapping on another topic or cluster: topics cannot change in place, and the
        // new mapping is created before the old one is deleted, if it is pipectl's to delete.
        None => plan_trigger_elsewhere(function, trigger, live),
    };
    change.id = id;
    change.lane = lane;
    change
}

/// `--replace lambda.kafka_trigger.FN`: the mapping on the file's stream is deleted and created
/// again (a mapping stuck in a state no update clears), when it is pipectl's to delete. The
/// trigger's change becomes that replacement; otherwise it stays as planned and the engine
/// says why it cannot be recreated.
pub(super) fn recreate(
    changes: &mut [Change],
    desired: &FunctionDefinition,
    live: Option<&LiveFunction>,
) {
    let (Some(trigger), Some(live)) = (&desired.trigger, live) else {
        return;
    };
    let Some(current) = live.kafka_mappings.iter().find(|m| {
        m.source == trigger.source && m.topics == [trigger.topic.clone()] && may_replace(trigger, m)
    }) else {
        return;
    };
    let Some(change) = changes.iter_mut().find(|c| c.id.kind == KAFKA_TRIGGER) else {
        return;
    };
    let mut recreated = plan_trigger_replace(&desired.name, trigger, current, true);
    recreated.diffs.push(FieldDiff::new(
        "mapping",
        Some(current.uuid.clone()),
        Some("(recreated: --replace)".into()),
    ));
    *change = Change {
        id: change.id.clone(),
        lane: change.lane.clone(),
        unhealthy: health(current),
        ..recreated
    };
}

/// Whether a mapping that stays works, in Lambda's words: `LastProcessingResult: PROBLEM: ...`
/// (the brokers unreachable from its subnets, authentication refused, the topic missing), or a
/// `Disabled` mapping, which consumes nothing.
fn health(mapping: &LiveMapping) -> Option<Unhealthy> {
    let uuid = &mapping.uuid;
    let why = mapping
        .state_reason
        .as_ref()
        .map(|reason| format!("; {reason}"))
        .unwrap_or_default();
    if let Some(problem) = mapping
        .last_processing_result
        .as_ref()
        .filter(|result| result.starts_with("PROBLEM"))
    {
        return Some(Unhealthy {
            reason: format!("mapping {uuid} is {}: {problem}{why}", mapping.state),
            help: format!("Lambda consumes nothing while it cannot reach or read the brokers: check that vpc_subnets and vpc_security_groups reach them, that the secret authenticates, and that the topic exists (aws lambda get-event-source-mapping --uuid {uuid}); a fixed network or secret is picked up by the mapping on its own"),
        });
    }
    (mapping.state == "Disabled").then(|| Unhealthy {
        reason: format!("mapping {uuid} is Disabled{why}"),
        help: format!("a Disabled mapping consumes nothing: enable it (aws lambda update-event-source-mapping --uuid {uuid} --enabled) once its cause is fixed"),
    })
}

/// The function's Kafka mappings are all on other topics or clusters than the file's: the new
/// mapping is created, then pipectl's own old ones (every one, with `prune`) are deleted;
/// another owner's are left alone, with a hazard saying the function will consume both.
pub(super) fn plan_trigger_elsewhere(
    function: &str,
    trigger: &TriggerDefinition,
    live: &[LiveMapping],
) -> Change {
    let (replaceable, foreign): (Vec<&LiveMapping>, Vec<&LiveMapping>) =
        live.iter().partition(|m| may_replace(trigger, m));
    let mut change = match replaceable.split_first() {
        Some((first, rest)) => {
            let mut change = plan_trigger_replace(function, trigger, first, false);
            change
                .steps
                .extend(rest.iter().map(|m| delete_mapping_step(function, &m.uuid)));
            change
        }
        None => plan_trigger_create(function, trigger),
    };
    for other in foreign {
        change.hazards.push(Hazard {
            message: format!(
                "Kafka mapping {} ({} {}) was not created by pipectl: it is left alone, so the function will consume both; set prune = true on the trigger to replace it",
                other.uuid,
                other.source,
                other.topics.join(",")
            ),
        });
    }
    change
}

pub(super) fn delete_mapping_step(function: &str, uuid: &str) -> Step {
    step(
        format!("DeleteEventSourceMapping {uuid}"),
        FunctionOperation::DeleteMapping {
            function: function.to_string(),
            uuid: uuid.to_string(),
        },
    )
}

/// What only a new mapping can change on the same stream: the consumer group (when the file
/// names one) and the consumption mode (AWS: "You cannot change ConsumptionMode after you create
/// the event source mapping").
fn set_at_creation_diffs(trigger: &TriggerDefinition, current: &LiveMapping) -> Vec<FieldDiff> {
    let mut diffs = vec![];
    if let Some(group) = trigger
        .consumer_group_id
        .as_ref()
        .filter(|g| Some(*g) != current.consumer_group_id.as_ref())
    {
        diffs.push(FieldDiff::new(
            "consumer_group_id",
            current.consumer_group_id.clone(),
            Some(group.clone()),
        ));
    }
    if trigger.consumption_mode != current.consumption_mode {
        diffs.push(FieldDiff::new(
            "consumption_mode",
            Some(current.consumption_mode.to_string()),
            Some(trigger.consumption_mode.to_string()),
        ));
    }
    diffs
}

/// Another owner's mapping on the same stream with another consumer group or consumption mode:
/// AWS allows one mapping per stream and function, and it is not pipectl's to delete.
pub(super) fn plan_trigger_foreign_group(
    function: &str,
    trigger: &TriggerDefinition,
    current: &LiveMapping,
) -> Change {
    let diffs = set_at_creation_diffs(trigger, current);
    let mut change = new_change(Action::Update, diffs, vec![]);
    change.deferred = Some(format!(
        "Kafka mapping {} of {function} ({} mode, consumer group {}) differs from the file ({} mode, group {}) in what only a new mapping can change, and was not created by pipectl: it is left alone; set prune = true on the trigger to replace it, or match its settings",
        current.uuid,
        current.consumption_mode,
        current.consumer_group_id.as_deref().unwrap_or("(its UUID)"),
        trigger.consumption_mode,
        trigger.consumer_group_id.as_deref().unwrap_or("(none)")
    ));
    change
}

pub(super) fn create_mapping_step(function: &str, trigger: &TriggerDefinition) -> Step {
    step(
        format!(
            "CreateEventSourceMapping for topic {}, then wait until Enabled and healthy",
            trigger.topic
        ),
        FunctionOperation::CreateMapping {
            function: function.to_string(),
            trigger: trigger.clone(),
        },
    )
}

pub(super) fn plan_trigger_create(function: &str, trigger: &TriggerDefinition) -> Change {
    let mut diffs = vec![
        FieldDiff::new("source", None, Some(trigger.source.to_string())),
        FieldDiff::new("topic", None, Some(trigger.topic.clone())),
        FieldDiff::new(
            "starting_position",
            None,
            Some(trigger.starting_position.clone()),
        ),
    ];
    let optional = [
        ("consumer_group_id", trigger.consumer_group_id.clone()),
        ("batch_size", trigger.batch_size.map(|v| v.to_string())),
        (
            "batching_window_seconds",
            trigger.batching_window_seconds.map(|v| v.to_string()),
        ),
        (
            "access",
            (!trigger.access.is_empty()).then(|| show_access(&trigger.access)),
        ),
    ];
    for (field, value) in optional {
        if value.is_some() {
            diffs.push(FieldDiff::new(field, None, value));
        }
    }
    new_change(
        Action::Create,
        diffs,
        vec![create_mapping_step(function, trigger)],
    )
}

/// Where a replacement mapping starts reading, said plainly: consumption does not simply
/// continue unless the new mapping joins a consumer group with committed offsets.
pub(super) fn replacement_hazard(
    trigger: &TriggerDefinition,
    old: &LiveMapping,
    delete_first: bool,
) -> Hazard {
    let order = if delete_first {
        format!("mapping {} is deleted first (AWS allows one mapping per function, source and topic), then a new one is created", old.uuid)
    } else {
        format!(
            "a new mapping is created, then mapping {} is deleted",
            old.uuid
        )
    };
    let resume = match (&trigger.consumer_group_id, trigger.starting_position.as_str()) {
        _ if trigger.consumption_mode == ConsumptionMode::Queue => format!(
            "in Queue mode the new mapping reads topic {} through a share group, which delivers the records not yet acknowledged by that group",
            trigger.topic
        ),
        (Some(group), _) => format!(
            "the new mapping joins consumer group {group}: where that group has committed offsets on topic {} it resumes from them, otherwise it starts at {}",
            trigger.topic, trigger.starting_position
        ),
        (None, "TRIM_HORIZON") => "without a consumer_group_id the new mapping is a new consumer group starting at TRIM_HORIZON: messages the old mapping already processed are read again".to_string(),
        (None, "AT_TIMESTAMP") => "without a consumer_group_id the new mapping is a new consumer group starting at the timestamp: messages after it that the old mapping processed are read again".to_string(),
        (None, _) => "without a consumer_group_id the new mapping is a new consumer group starting at LATEST: messages published between the old mapping's last poll and the new mapping's first poll are skipped".to_string(),
    };
    Hazard {
        message: format!("the topic, source, consumer group or consumption mode of a Kafka mapping cannot change in place: {order}; {resume}"),
    }
}

pub(super) fn plan_trigger_replace(
    function: &str,
    trigger: &TriggerDefinition,
    old: &LiveMapping,
    delete_first: bool,
) -> Change {
    let mut diffs = vec![];
    if old.topics != [trigger.topic.clone()] {
        diffs.push(FieldDiff::new(
            "topic",
            Some(old.topics.join(",")),
            Some(trigger.topic.clone()),
        ));
    }
    diffs.extend(source_diffs(&old.source, &trigger.source));
    diffs.extend(set_at_creation_diffs(trigger, old));
    let delete = delete_mapping_step(function, &old.uuid);
    let create = create_mapping_step(function, trigger);
    let steps = if delete_first {
        vec![delete, create]
    } else {
        vec![create, delete]
    };
    let mut change = new_change(Action::Replace, diffs, steps);
    change.destructive = true;
    change.hazards = vec![replacement_hazard(trigger, old, delete_first)];
    change
}

pub(super) fn plan_trigger_update(
    function: &str,
    trigger: &TriggerDefinition,
    current: &LiveMapping,
) -> Change {
    let batch_size = trigger
        .batch_size
        .filter(|b| Some(*b) != current.batch_size);
    let window = trigger
        .batching_window_seconds
        .filter(|w| Some(*w) != current.batching_window_seconds);
    let access = (trigger.access != current.access).then(|| trigger.access.clone());
    let show = |v: Option<i64>| Some(v.map(|v| v.to_string()).unwrap_or_else(|| "default".into()));
    let mut diffs = vec![];
    if let Some(size) = batch_size {
        diffs.push(FieldDiff::new(
            "batch_size",
            show(current.batch_size),
            Some(size.to_string()),
        ));
    }
    if let Some(w) = window {
        diffs.push(FieldDiff::new(
            "batching_window_seconds",
            show(current.batching_window_seconds),
            Some(w.to_string()),
        ));
    }
    if let Some(access) = &access {
        diffs.extend(FieldDiff::elements(
            "access",
            &access_entries(&current.access),
            &access_entries(access),
        ));
    }
    let pollers = poller_diffs(trigger, current, &mut diffs);
    if diffs.is_empty() {
        return new_change(Action::NoOp, diffs, vec![]);
    }
    let update = step(
        format!(
            "UpdateEventSourceMapping {}, then wait until Enabled and healthy",
            current.uuid
        ),
        FunctionOperation::UpdateMapping {
            function: function.to_string(),
            uuid: current.uuid.clone(),
            batch_size,
            batching_window_seconds: window,
            access,
            health_timeout_seconds: trigger.health_timeout_seconds,
            pollers,
        },
    );
    new_change(Action::Update, diffs, vec![update])
}

/// Provisioned mode's pollers: the diffs, and what to send when any differs. A bound the file
/// does not give is not compared (AWS keeps its own, or its default).
pub(super) fn poller_diffs(
    trigger: &TriggerDefinition,
    current: &LiveMapping,
    diffs: &mut Vec<FieldDiff>,
) -> Option<(Option<i64>, Option<i64>)> {
    let live = current.pollers;
    let show = |v: Option<i64>| {
        Some(
            v.map(|v| v.to_string())
                .unwrap_or_else(|| "on demand".into()),
        )
    };
    let min = trigger
        .minimum_pollers
        .filter(|m| live.map(|(l, _)| l) != Some(*m));
    let max = trigger
        .maximum_pollers
        .filter(|m| live.map(|(_, l)| l) != Some(*m));
    if let Some(m) = min {
        diffs.push(FieldDiff::new(
            "minimum_pollers",
            show(live.map(|(l, _)| l)),
            Some(m.to_string()),
        ));
    }
    if let Some(m) = max {
        diffs.push(FieldDiff::new(
            "maximum_pollers",
            show(live.map(|(_, l)| l)),
            Some(m.to_string()),
        ));
    }
    (min.is_some() || max.is_some()).then_some((trigger.minimum_pollers, trigger.maximum_pollers))
}

/// `ProvisionedPollerConfig` for the bounds given.
pub(super) fn poller_config(
    minimum: Option<i64>,
    maximum: Option<i64>,
) -> Result<ProvisionedPollerConfig> {
    Ok(ProvisionedPollerConfig::builder()
        .set_minimum_pollers(minimum.map(to_i32).transpose()?)
        .set_maximum_pollers(maximum.map(to_i32).transpose()?)
        .build())
}

pub(super) async fn create_mapping(
    aws: &Aws,
    function: &str,
    trigger: &TriggerDefinition,
    progress: &StepProgress,
) -> Result<()> {
    let request = with_source(mapping_request(aws, function, trigger)?, trigger);
    progress.status(&format!("CreateEventSourceMapping topic {}", trigger.topic));
    let uuid = match request.send().await {
        Ok(output) => output
            .uuid()
            .ok_or_else(|| anyhow!("CreateEventSourceMapping returned no UUID"))?
            .to_string(),
        // A lost reply to an earlier attempt may have created it: find it and carry on.
        Err(err) if err.code() == Some("ResourceConflictException") => {
            created_earlier(aws, function, trigger)
                .await?
                .ok_or_else(|| {
                    anyhow!(
                        "CreateEventSourceMapping {function} failed: {}",
                        describe_sdk_error(&err)
                    )
                })?
        }
        Err(err) => bail!(
            "CreateEventSourceMapping {function} failed: {}",
            describe_sdk_error(&err)
        ),
    };
    progress.note(&format!(
        "created Kafka mapping {uuid} for topic {}",
        trigger.topic
    ));
    wait_for_mapping(aws, &uuid, false, progress).await?;
    wait_until_healthy(aws, &uuid, trigger.health_timeout_seconds, progress).await
}

type CreateMapping =
    aws_sdk_lambda::operation::create_event_source_mapping::builders::CreateEventSourceMappingFluentBuilder;

/// CreateEventSourceMapping with the trigger's settings, before its source.
fn mapping_request(
    aws: &Aws,
    function: &str,
    trigger: &TriggerDefinition,
) -> Result<CreateMapping> {
    let mut request = aws
        .lambda
        .create_event_source_mapping()
        .function_name(function)
        .topics(&trigger.topic)
        .set_batch_size(trigger.batch_size.map(to_i32).transpose()?);
    // A share group (Queue mode) has no starting position or batching window: Lambda refuses them.
    if trigger.consumption_mode == ConsumptionMode::Stream {
        request = request
            .starting_position(EventSourcePosition::from(
                trigger.starting_position.as_str(),
            ))
            .set_maximum_batching_window_in_seconds(
                trigger.batching_window_seconds.map(to_i32).transpose()?,
            );
        if let Some(timestamp) = trigger.starting_position_timestamp {
            request = request
                .starting_position_timestamp(aws_smithy_types::DateTime::from_secs(timestamp));
        }
    }
    if !trigger.access.is_empty() {
        request = request.set_source_access_configurations(Some(source_access(&trigger.access)));
    }
    if !trigger.tags.is_empty() {
        request = request.set_tags(Some(trigger.tags.clone().into_iter().collect()));
    }
    if trigger.minimum_pollers.is_some() || trigger.maximum_pollers.is_some() {
        request = request.provisioned_poller_config(poller_config(
            trigger.minimum_pollers,
            trigger.maximum_pollers,
        )?);
    }
    Ok(request)
}

/// The request with the trigger's Kafka: an MSK cluster, or self-managed brokers.
fn with_source(request: CreateMapping, trigger: &TriggerDefinition) -> CreateMapping {
    match &trigger.source {
        KafkaSource::Msk { cluster_arn } => {
            let request = request.event_source_arn(cluster_arn);
            match &trigger.consumer_group_id {
                Some(group) => request.amazon_managed_kafka_event_source_config(
                    AmazonManagedKafkaEventSourceConfig::builder()
                        .consumer_group_id(group)
                        .build(),
                ),
                None => request,
            }
        }
        KafkaSource::SelfManaged { bootstrap_servers } => {
            let request = request.self_managed_event_source(
                SelfManagedEventSource::builder()
                    .endpoints(
                        EndPointType::KafkaBootstrapServers,
                        bootstrap_servers.clone(),
                    )
                    .build(),
            );
            // Nothing is sent for the defaults (no group, Stream).
            match (&trigger.consumer_group_id, trigger.consumption_mode) {
                (None, ConsumptionMode::Stream) => request,
                (group, mode) => request.self_managed_kafka_event_source_config(
                    SelfManagedKafkaEventSourceConfig::builder()
                        .set_consumer_group_id(group.clone())
                        .consumption_mode(KafkaEventSourceMappingConsumptionMode::from(
                            mode.to_string().as_str(),
                        ))
                        .build(),
                ),
            }
        }
    }
}

/// The mapping of this source and topic the function already has (an earlier attempt whose
/// reply was lost), if any.
async fn created_earlier(
    aws: &Aws,
    function: &str,
    trigger: &TriggerDefinition,
) -> Result<Option<String>> {
    let live = read_function(aws, function, true)
        .await?
        .ok_or_else(|| anyhow!("function {function} disappeared"))?;
    Ok(live
        .kafka_mappings
        .into_iter()
        .find(|m| m.source == trigger.source && m.topics == [trigger.topic.clone()])
        .map(|m| m.uuid))
}

pub(super) fn source_access(access: &[(String, String)]) -> Vec<SourceAccessConfiguration> {
    access
        .iter()
        .map(|(kind, uri)| {
            SourceAccessConfiguration::builder()
                .r#type(SourceAccessType::from(kind.as_str()))
                .uri(uri)
                .build()
        })
        .collect()
}

/// `Enabled` only means the mapping exists: Lambda reports whether it could reach and
/// authenticate to the brokers in `LastProcessingResult`. Waits up to `timeout_seconds` for
/// `OK`; `PROBLEM: ...` fails the change with AWS's text, and so does a mapping that went
/// `Disabling`/`Disabled`. A mapping still without a result after the time is reported as not
/// yet confirmed, not as failed (an idle topic gives Lambda nothing to process).
pub(super) async fn wait_until_healthy(
    aws: &Aws,
    uuid: &str,
    timeout_seconds: u64,
    progress: &StepProgress,
) -> Result<()> {
    if timeout_seconds == 0 {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let outcome = wait::until(
        &aws.wait,
        progress,
        &format!("mapping {uuid} to be healthy"),
        || async {
            let mapping = get_mapping(aws, uuid).await?;
            let state = mapping.state().unwrap_or("Enabled");
            let result = mapping
                .last_processing_result()
                .unwrap_or("No records processed");
            if matches!(state, "Disabling" | "Disabled") {
                bail!(
                    "Kafka mapping {uuid} is {state}, not healthy ({})",
                    mapping
                        .state_transition_reason()
                        .unwrap_or("no reason given")
                );
            }
            if result.starts_with("PROBLEM") {
                bail!("Kafka mapping {uuid} cannot consume: {result}");
            }
            if result == "OK" {
                return Ok(Poll::Ready(None));
            }
            if started.elapsed().as_secs() >= timeout_seconds {
                return Ok(Poll::Ready(Some(result.to_string())));
            }
            Ok(Poll::Pending(format!(
                "{state}, LastProcessingResult: {result}"
            )))
        },
    )
    .await?;
    match outcome {
        None => progress.note(&format!(
            "mapping {uuid} is healthy: Lambda reached the brokers (LastProcessingResult: OK)"
        )),
        Some(result) => progress.note(&format!(
            "mapping {uuid} not yet confirmed healthy after {timeout_seconds}s (LastProcessingResult: {result}); check it with `aws lambda get-event-source-mapping --uuid {uuid}`"
        )),
    }
    Ok(())
}

/// One GetEventSourceMapping.
pub(super) async fn get_mapping(
    aws: &Aws,
    uuid: &str,
) -> Result<aws_sdk_lambda::operation::get_event_source_mapping::GetEventSourceMappingOutput> {
    aws.lambda
        .get_event_source_mapping()
        .uuid(uuid)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "GetEventSourceMapping {uuid} failed: {}",
                describe_sdk_error(&e)
            )
        })
}

/// The mapping's state, if it can be read.
pub(super) async fn mapping_state(aws: &Aws, uuid: &str) -> Option<String> {
    let mapping = get_mapping(aws, uuid).await.ok()?;
    mapping.state().map(str::to_string)
}

/// Waits until a mapping leaves Creating/Updating/Enabling (or, with `gone`, until it is deleted).
pub(super) async fn wait_for_mapping(
    aws: &Aws,
    uuid: &str,
    gone: bool,
    progress: &StepProgress,
) -> Result<()> {
    wait::until(&aws.wait, progress, &format!("mapping {uuid}"), || async {
        match aws
            .lambda
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
        {
            Ok(mapping) => {
                let state = mapping.state().unwrap_or("Enabled").to_string();
                if gone
                    || matches!(
                        state.as_str(),
                        "Creating" | "Updating" | "Enabling" | "Deleting"
                    )
                {
                    Ok(Poll::Pending(state))
                } else {
                    Ok(Poll::Ready(()))
                }
            }
            Err(err) if gone && err.code() == Some("ResourceNotFoundException") => {
                Ok(Poll::Ready(()))
            }
            Err(err) => Err(anyhow!(
                "GetEventSourceMapping {uuid} failed: {}",
                describe_sdk_error(&err)
            )),
        }
    })
    .await
}
