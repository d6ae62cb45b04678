//! Plan asks the brokers whether they would take its writes: CreateTopics and CreatePartitions
//! with `validate_only` (Kafka changes nothing), so a broker's create policy
//! (`create.topic.policy.class.name`: POLICY_VIOLATION), replica placement, a missing ACL and
//! Kafka's other refusals fail the plan, not the apply. One request per call, for all topics.

use super::*;

/// The writes a plan would make that the brokers can check without making them.
#[derive(Default)]
pub(super) struct Proposed {
    creates: Vec<CreatableTopic>,
    growths: Vec<CreatePartitionsTopic>,
}

impl Proposed {
    /// Records the write `want` needs against `live`, if any the brokers can validate.
    pub(super) fn add(&mut self, want: &WantedTopic, live: Option<&LiveTopic>) {
        match live {
            None => self.creates.push(creatable(
                &want.name,
                want.partitions as i32,
                want.replication_factor as i16,
                &kafka_configs(&want.configs),
            )),
            Some(live) if want.partitions > live.partitions => self
                .growths
                .push(growth(&want.name, want.partitions as i32)),
            Some(_) => {}
        }
    }
}

/// Each topic's answer: (name, error code, message).
type Answers = Vec<(String, i16, Option<String>)>;

/// Sends the validate-only requests; each refusal becomes a plan error on its topic.
pub(super) async fn check(admin: &Admin, proposed: Proposed) -> Result<Vec<PlanError>> {
    let mut errors = vec![];
    if !proposed.creates.is_empty() {
        let request = CreateTopicsRequest::default()
            .with_topics(proposed.creates)
            .with_validate_only(true)
            .with_timeout_ms(CONTROLLER_TIMEOUT_MS);
        let answers = ask(admin, request, |r| {
            r.topics
                .iter()
                .map(|t| answer(t.name.0.as_str(), t.error_code, &t.error_message))
                .collect()
        })
        .await?;
        errors.extend(refusals(answers, "create", "Create"));
    }
    if !proposed.growths.is_empty() {
        let request = CreatePartitionsRequest::default()
            .with_topics(proposed.growths)
            .with_validate_only(true)
            .with_timeout_ms(CONTROLLER_TIMEOUT_MS);
        let answers = ask(admin, request, |r| {
            r.results
                .iter()
                .map(|t| answer(t.name.0.as_str(), t.error_code, &t.error_message))
                .collect()
        })
        .await?;
        errors.extend(refusals(answers, "add partitions to", "Alter"));
    }
    Ok(errors)
}

fn answer(name: &str, code: i16, message: &Option<StrBytes>) -> (String, i16, Option<String>) {
    (
        name.to_string(),
        code,
        message.as_ref().map(|m| m.as_str().to_string()),
    )
}

/// Sends a validate-only write where writes go, to the controller if a broker says it is not.
async fn ask<R>(admin: &Admin, request: R, answers: fn(&R::Response) -> Answers) -> Result<Answers>
where
    R: Request + Clone + Send + 'static,
    R::Response: Send,
{
    let send = || admin.with_controller(|c| Box::pin(c.send(request.clone())));
    let first = answers(&send().await?);
    if first.iter().all(|(_, code, _)| *code != NOT_CONTROLLER) {
        return Ok(first);
    }
    admin.route_to_controller().await?;
    Ok(answers(&send().await?))
}

/// The brokers' refusals as plan errors, with what to do about each.
fn refusals(answers: Answers, doing: &str, acl_operation: &str) -> Vec<PlanError> {
    answers
        .into_iter()
        .filter(|(_, code, _)| *code != 0)
        .map(|(name, code, message)| {
            let said = message.map(|m| format!(": {m}")).unwrap_or_default();
            let help = match code {
                POLICY_VIOLATION => "this cluster's create.topic.policy.class.name refuses these settings: change the topic to meet the policy, or ask the cluster's operators".to_string(),
                TOPIC_AUTHORIZATION_FAILED => format!(
                    "grant the [kafka.admin] user the {acl_operation} ACL on the topic, e.g. kafka-acls.sh --add --allow-principal User:NAME --operation {acl_operation} --topic {name}"
                ),
                _ => "fix the topic's settings in the file; the plan asked the brokers with validate_only, so nothing was changed".to_string(),
            };
            PlanError {
                resource: format!("{}.{name}", TOPIC.prefix()),
                message: format!(
                    "the brokers would refuse to {doing} topic {name}: {}{said}",
                    error_constant(code)
                ),
                help,
            }
        })
        .collect()
}
