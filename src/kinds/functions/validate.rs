//! Offline checks of `[[lambda.functions]]` and their Kafka triggers: Lambda's ranges and rules.

use toml::Spanned;

use super::limits;
use super::section::*;
use crate::spec::validate::*;
use crate::spec::StackSpec;

/// The kind's offline checks.
pub fn check(spec: &StackSpec, check: &mut Checker) {
    let functions = spec.entries::<LambdaFunction>();
    for (index, function) in functions.iter().enumerate() {
        validate_function(check, function, &format!("lambda.functions[{index}]"));
    }
    check.unique(
        functions
            .iter()
            .enumerate()
            .map(|(i, f)| (&f.name, format!("lambda.functions[{i}].name"))),
        "Lambda function",
    );
}

fn validate_function(check: &mut Checker, function: &LambdaFunction, base: &str) {
    if let Some(usage) = &function.usage {
        let FunctionUsage {
            invocations_per_month,
            average_duration_ms,
        } = *usage.get_ref();
        // A Lambda invocation runs at most 900 s (its maximum timeout).
        if invocations_per_month < 0 || !(0..=900_000).contains(&average_duration_ms) {
            check.error(
                usage.span(),
                &format!("{base}.usage"),
                format!("usage {{ invocations_per_month = {invocations_per_month}, average_duration_ms = {average_duration_ms} }} is not a function's use"),
                "give invocations_per_month as 0 or more and average_duration_ms between 0 and 900000 (Lambda's longest timeout)",
            );
        }
    }
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
        validate_trigger(check, trigger, &format!("{base}.kafka_trigger"));
    }
}

/// A function's Kafka trigger: its source, network, authentication, batching and pollers.
fn validate_trigger(check: &mut Checker, trigger: &KafkaTrigger, base: &str) {
    validate_source(check, trigger, base);
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
    validate_pollers(check, trigger, base);
    validate_starting_position(check, trigger, base);
    validate_queue_mode(check, trigger, base);
    validate_trigger_access(check, trigger, base);
    check.optional_in_range(
        &trigger.health_timeout_seconds,
        &limits::KAFKA_HEALTH_TIMEOUT,
        &format!("{base}.health_timeout_seconds"),
    );
}

/// The trigger's Kafka: an MSK cluster ARN or self-managed `host:port` brokers, one of them.
fn validate_source(check: &mut Checker, trigger: &KafkaTrigger, base: &str) {
    match (&trigger.msk_cluster_arn, &trigger.bootstrap_servers) {
        (Some(arn), Some(_)) => check.error(
            arn.span(),
            &format!("{base}.msk_cluster_arn"),
            "a Kafka trigger names both msk_cluster_arn and bootstrap_servers".to_string(),
            "keep msk_cluster_arn for Amazon MSK or bootstrap_servers for self-managed Kafka, not both",
        ),
        (None, None) => check.error(
            trigger.topic.span(),
            base,
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
}

/// Provisioned mode's poller bounds: each in Lambda's range, the minimum not above the maximum.
fn validate_pollers(check: &mut Checker, trigger: &KafkaTrigger, base: &str) {
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

/// Queue mode is for self-managed Kafka only, and reads through a share group, which has no
/// starting position and no batching window (Lambda developer guide, "Polling Kafka topics in
/// Queue mode"; CreateEventSourceMapping refuses them).
fn validate_queue_mode(check: &mut Checker, trigger: &KafkaTrigger, base: &str) {
    let Some(mode) = &trigger.consumption_mode else {
        return;
    };
    if *mode.get_ref() != ConsumptionMode::Queue {
        return;
    }
    let field = format!("{base}.consumption_mode");
    if trigger.msk_cluster_arn.is_some() {
        check.error(
            mode.span(),
            &field,
            "consumption_mode \"Queue\" is for self-managed Kafka; Amazon MSK mappings read as Stream".to_string(),
            "remove consumption_mode, or use bootstrap_servers for a self-managed cluster",
        );
    }
    let written_position = trigger.starting_position.span() != (0..0);
    let not_in_queue = [
        (
            "starting_position",
            written_position.then(|| trigger.starting_position.span()),
        ),
        (
            "starting_position_timestamp",
            trigger
                .starting_position_timestamp
                .as_ref()
                .map(|t| t.span()),
        ),
        (
            "batching_window_seconds",
            trigger.batching_window_seconds.as_ref().map(|w| w.span()),
        ),
    ];
    for (key, span) in not_in_queue {
        if let Some(span) = span {
            check.error(
                span,
                &format!("{base}.{key}"),
                format!("{key} does not apply to consumption_mode \"Queue\": a share group has no starting position or batching window, and Lambda refuses it"),
                format!("remove {key}, or use consumption_mode = \"Stream\""),
            );
        }
    }
}

/// The source access configurations AWS takes for Kafka: VPC subnets and security groups
/// (self-managed brokers in a VPC; both or neither), one authentication method, a root CA.
fn validate_trigger_access(check: &mut Checker, trigger: &KafkaTrigger, base: &str) {
    validate_vpc(check, trigger, base);
    validate_authentication(check, trigger, base);
    validate_consumer_group(check, trigger, base);
}

/// A self-managed cluster's VPC: subnet and security group ids, both or neither; none for MSK.
fn validate_vpc(check: &mut Checker, trigger: &KafkaTrigger, base: &str) {
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
}

/// One authentication method at most, and every secret a Secrets Manager ARN.
fn validate_authentication(check: &mut Checker, trigger: &KafkaTrigger, base: &str) {
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
}

fn validate_consumer_group(check: &mut Checker, trigger: &KafkaTrigger, base: &str) {
    // ConsumerGroupId: 1-200 of `[a-zA-Z0-9-\/*:_+=.@-]` (SelfManagedKafkaEventSourceConfig and
    // AmazonManagedKafkaEventSourceConfig API references).
    if let Some(group) = &trigger.consumer_group_id {
        let valid = !group.get_ref().is_empty()
            && group.get_ref().len() <= 200
            && group
                .get_ref()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-/*:_+=.@".contains(c));
        if !valid {
            check.error(
                group.span(),
                &format!("{base}.consumer_group_id"),
                format!(
                    "consumer_group_id {:?} is not a valid Kafka consumer group id for Lambda",
                    group.get_ref()
                ),
                "use 1 to 200 letters, digits and - / * : _ + = . @",
            );
        }
    }
}
