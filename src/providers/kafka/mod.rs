//! Kafka's own admin API, for what only the brokers know: topics. The one backend here that does
//! not talk to AWS or Kubernetes; it reaches the brokers at the stack's bootstrap servers (or
//! `--kafka-bootstrap`), with TLS and SASL/SCRAM as `[kafka.admin]` says.

pub mod connection;
pub mod scram;
pub mod topics;

use anyhow::{anyhow, Context, Result};
use secrecy::SecretString;
use tokio::sync::Mutex;

use super::{describe_sdk_error, Aws};
use crate::spec::validate::admin_bootstrap_servers;
use crate::spec::StackSpec;
use connection::{Connection, Credentials, Endpoint};
use scram::Mechanism;

/// What `[kafka.admin]` says (or `pipectl import`'s flags).
#[derive(Debug, Clone, Default)]
pub struct AdminSettings {
    pub servers: Vec<String>,
    pub security_protocol: String,
    pub sasl_mechanism: String,
    pub sasl_secret_arn: Option<String>,
}

/// The admin API of one stack's brokers: where they are, how to log in, and one connection
/// opened on first use and kept for the plan and the apply.
pub struct Admin {
    pub endpoint: Endpoint,
    sasl: Option<(Mechanism, String)>,
    aws: Aws,
    connection: Mutex<Option<Connection>>,
}

impl Admin {
    /// The stack's admin settings; `override_servers` is `--kafka-bootstrap`.
    pub fn for_stack(
        spec: &StackSpec,
        aws: &Aws,
        override_servers: Option<Vec<String>>,
    ) -> Result<Admin> {
        let admin = spec.kafka.as_ref().and_then(|k| k.admin.as_ref());
        let servers = override_servers
            .or_else(|| admin_bootstrap_servers(spec))
            .ok_or_else(|| {
                anyhow!(
                    "[[kafka.topics]] needs [kafka.admin] bootstrap_servers (or --kafka-bootstrap)"
                )
            })?;
        let settings = AdminSettings {
            servers,
            security_protocol: admin
                .map(|a| a.security_protocol.get_ref().clone())
                .unwrap_or_else(|| "SASL_SSL".into()),
            sasl_mechanism: admin
                .map(|a| a.sasl_mechanism.get_ref().clone())
                .unwrap_or_else(|| "SCRAM-SHA-512".into()),
            sasl_secret_arn: admin
                .and_then(|a| a.sasl_secret_arn.as_ref())
                .map(|s| s.get_ref().clone()),
        };
        Admin::new(&settings, aws)
    }

    pub fn new(settings: &AdminSettings, aws: &Aws) -> Result<Admin> {
        let protocol = settings.security_protocol.as_str();
        let sasl = if protocol.starts_with("SASL_") {
            let secret = settings.sasl_secret_arn.clone().ok_or_else(|| {
                anyhow!("Kafka security protocol {protocol} needs a SASL secret ([kafka.admin] sasl_secret_arn)")
            })?;
            Some((Mechanism::parse(&settings.sasl_mechanism)?, secret))
        } else {
            None
        };
        Ok(Admin {
            endpoint: Endpoint {
                servers: settings.servers.clone(),
                tls: protocol.ends_with("SSL"),
            },
            sasl,
            aws: aws.clone(),
            connection: Mutex::new(None),
        })
    }

    /// Runs `work` on the connection, opening it (and logging in) the first time.
    pub async fn with_connection<T>(
        &self,
        work: impl for<'c> FnOnce(&'c mut Connection) -> futures::future::BoxFuture<'c, Result<T>>,
    ) -> Result<T> {
        let mut guard = self.connection.lock().await;
        if guard.is_none() {
            let credentials = match &self.sasl {
                Some((mechanism, secret)) => Some(self.credentials(*mechanism, secret).await?),
                None => None,
            };
            *guard = Some(Connection::open(&self.endpoint, credentials.as_ref()).await?);
        }
        let connection = guard
            .as_mut()
            .ok_or_else(|| anyhow!("Kafka connection lost"))?;
        let result = work(connection).await;
        if result.is_err() {
            // A failed exchange may leave the stream mid-frame: the next use reconnects.
            *guard = None;
        }
        result
    }

    /// The SCRAM user and password from the secret, in the format Lambda's SCRAM secrets use.
    async fn credentials(&self, mechanism: Mechanism, secret: &str) -> Result<Credentials> {
        let value = self
            .aws
            .secretsmanager
            .get_secret_value()
            .secret_id(secret)
            .send()
            .await
            .map_err(|e| anyhow!("GetSecretValue {secret} failed: {}", describe_sdk_error(&e)))?;
        let text = value
            .secret_string()
            .ok_or_else(|| anyhow!("secret {secret} has no SecretString"))?;
        #[derive(serde::Deserialize)]
        struct Scram {
            username: String,
            password: String,
        }
        // The message names the expected shape, never the secret's text.
        let parsed: Scram = serde_json::from_str(text)
            .map_err(|_| anyhow!("secret {secret} is not JSON with \"username\" and \"password\""))
            .context("reading the Kafka admin credentials")?;
        Ok(Credentials {
            mechanism,
            username: parsed.username,
            password: SecretString::from(parsed.password),
        })
    }
}
