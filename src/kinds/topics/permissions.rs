//! What the topics kind asks of the brokers, as Kafka ACL operations of the admin user
//! (Kafka's authorizer, KIP-11 and the operations each API checks: Metadata needs Describe,
//! DescribeConfigs DescribeConfigs, CreateTopics Create, CreatePartitions Alter,
//! IncrementalAlterConfigs AlterConfigs), and the admin user's SCRAM secret in Secrets Manager.

use crate::plan::permissions::{
    secret_resources, Command, KafkaGrant, Permissions, Scope, READ, VALIDATE, WRITE,
};
use crate::providers::kafka::section::KafkaAdmin;
use crate::spec::StackSpec;

fn topic(
    name: &str,
    operation: &'static str,
    call: &'static str,
    commands: &'static [Command],
    changes: Option<String>,
) -> KafkaGrant {
    KafkaGrant {
        resource_type: "Topic",
        name: name.to_string(),
        operation,
        call,
        commands,
        changes,
        when: None,
    }
}

pub fn permissions(spec: &StackSpec, _scope: &Scope) -> Permissions {
    let mut out = Permissions::default();
    let wanted = super::desired(spec);
    if wanted.is_empty() {
        return out;
    }
    let mut described: Vec<String> = wanted.iter().map(|w| w.name.clone()).collect();
    described.extend(super::consumed_topics(spec));
    described.sort();
    described.dedup();
    for name in &described {
        out.kafka
            .push(topic(name, "Describe", "kafka:Metadata", READ, None));
    }
    for want in &wanted {
        let id = Some(want.id());
        out.kafka.extend([
            topic(
                &want.name,
                "DescribeConfigs",
                "kafka:DescribeConfigs",
                READ,
                None,
            ),
            topic(
                &want.name,
                "Create",
                "kafka:CreateTopics",
                VALIDATE,
                id.clone(),
            ),
            topic(
                &want.name,
                "Alter",
                "kafka:CreatePartitions",
                VALIDATE,
                id.clone(),
            ),
            topic(
                &want.name,
                "AlterConfigs",
                "kafka:IncrementalAlterConfigs",
                WRITE,
                id,
            ),
        ]);
        // A topic whose name collides with the new one's metric name is asked for too.
        for colliding in super::validate::colliding_names(&want.name) {
            let mut grant = topic(&colliding, "Describe", "kafka:Metadata", READ, None);
            grant.when =
                Some("a topic is created (are there topics its metric name collides with?)");
            out.kafka.push(grant);
        }
    }
    if let Some(secret) = spec
        .section::<KafkaAdmin>()
        .and_then(|admin| admin.sasl_secret_arn.as_ref())
    {
        for resource in secret_resources(secret.get_ref()) {
            out.aws("secretsmanager:GetSecretValue", resource, READ);
        }
    }
    out
}
