//! `[kafka.admin]`: how the Kafka admin connection (`Clients::kafka`) reaches the brokers.

use serde::Deserialize;
use toml::Spanned;

use crate::spec::validate::*;
use crate::spec::Section;

/// `[kafka.admin]`: the brokers' admin API, for `[[kafka.topics]]`. Credentials come from a
/// Secrets Manager secret (`{"username": ..., "password": ...}`, the format Lambda's SCRAM
/// secrets use), never from the stack file.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaAdmin {
    /// host:port of brokers to bootstrap from. Default: the Kafka trigger's. `--kafka-bootstrap`
    /// (PIPECTL_KAFKA_BOOTSTRAP) overrides it, e.g. for a `kubectl port-forward`.
    #[schemars(with = "Option<Vec<String>>")]
    pub bootstrap_servers: Option<Vec<Spanned<String>>>,
    /// PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (Kafka's `security.protocol`; default SASL_SSL).
    #[serde(default = "default_security_protocol")]
    #[schemars(with = "String")]
    pub security_protocol: Spanned<String>,
    /// SCRAM-SHA-512 (default) or SCRAM-SHA-256, for the SASL protocols.
    #[serde(default = "default_sasl_mechanism")]
    #[schemars(with = "String")]
    pub sasl_mechanism: Spanned<String>,
    /// The Secrets Manager secret with the admin user's SCRAM credentials.
    #[schemars(with = "Option<String>")]
    pub sasl_secret_arn: Option<Spanned<String>>,
}

fn default_security_protocol() -> Spanned<String> {
    Spanned::new(0..0, "SASL_SSL".to_string())
}

fn default_sasl_mechanism() -> Spanned<String> {
    Spanned::new(0..0, "SCRAM-SHA-512".to_string())
}
impl Section for KafkaAdmin {
    const PATH: &'static [&'static str] = &["kafka", "admin"];
    const DESCRIPTION: &'static str = "How pipectl reaches the brokers' admin API (topics).";
}

/// The offline checks of `[kafka.admin]`: addresses, protocols and the secret's ARN.
pub fn check(spec: &crate::spec::StackSpec, check: &mut Checker) {
    if let Some(admin) = spec.section::<KafkaAdmin>() {
        validate_kafka_admin(check, admin);
    }
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
