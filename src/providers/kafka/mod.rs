//! Kafka's own admin API, for what only the brokers know: topics. The one backend here that does
//! not talk to AWS or Kubernetes; it reaches the brokers at the stack's bootstrap servers (or
//! `--kafka-bootstrap`), with TLS and SASL/SCRAM as `[kafka.admin]` says.

pub mod connection;
pub mod scram;
pub mod section;

pub use section::KafkaAdmin;

use anyhow::{anyhow, bail, Context, Result};
use secrecy::SecretString;
use tokio::sync::Mutex;

use super::{describe_sdk_error, Aws};
use crate::spec::StackSpec;
use connection::{Connection, Credentials, Endpoint};
use kafka_protocol::messages::MetadataRequest;
use scram::Mechanism;

/// What the job running pipectl allows, from its own flags or environment and never from a stack
/// file: the brokers a SASL login may be sent to (`--kafka-bootstrap`) and the one secret whose
/// credentials may be used there (`--kafka-admin-secret`). A stack file arrives in a pull request;
/// if it could choose the host, it could collect a SCRAM proof and relay it to the real brokers.
#[derive(Debug, Clone, Default)]
pub struct KafkaPin {
    pub servers: Option<Vec<String>>,
    pub secret: Option<String>,
}

/// How to pin, for every refusal below.
const HOW_TO_PIN: &str = "pin them in the job, outside the stack file: --kafka-bootstrap HOST:PORT and --kafka-admin-secret ARN (or PIPECTL_KAFKA_BOOTSTRAP and PIPECTL_KAFKA_ADMIN_SECRET), e.g. a `kubectl port-forward` to a broker and the admin secret's ARN";

/// Runs `work` on an open connection; a failed exchange may leave the stream mid-frame, so the
/// connection is dropped and the next use reconnects.
async fn run_on<T>(
    slot: &mut Option<Connection>,
    work: impl for<'c> FnOnce(&'c mut Connection) -> futures::future::BoxFuture<'c, Result<T>>,
) -> Result<T> {
    let connection = slot
        .as_mut()
        .ok_or_else(|| anyhow!("Kafka connection lost"))?;
    let result = work(connection).await;
    if result.is_err() {
        *slot = None;
    }
    result
}

impl KafkaPin {
    /// The brokers and secret a stack's login goes to. Without SASL nothing secret is sent, and
    /// the stack's own servers may be used; with SASL both must be pinned, and a secret the
    /// file names must be the pinned one.
    fn settle(&self, file: AdminSettings) -> Result<AdminSettings> {
        let servers = self.servers.clone().unwrap_or(file.servers);
        if !file.security_protocol.starts_with("SASL_") {
            return Ok(AdminSettings { servers, ..file });
        }
        let (Some(pinned_servers), Some(pinned_secret)) = (&self.servers, &self.secret) else {
            bail!(
                "[kafka.admin] asks for a SASL login with the secret {}, but the job has not pinned where that login may go: a stack file cannot choose the host that receives it (a SCRAM proof can be relayed to the real brokers); {HOW_TO_PIN}",
                file.sasl_secret_arn.as_deref().unwrap_or("(none named)")
            );
        };
        if let Some(named) = &file.sasl_secret_arn {
            if named != pinned_secret {
                bail!(
                    "[kafka.admin] sasl_secret_arn {named} is not the secret the job allows at its pinned brokers ({pinned_secret}, from --kafka-admin-secret): write that ARN in the file, or pin this one in the job"
                );
            }
        }
        Ok(AdminSettings {
            servers: pinned_servers.clone(),
            sasl_secret_arn: Some(pinned_secret.clone()),
            ..file
        })
    }
}

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
    /// Where CreateTopics and CreatePartitions go once a broker answered NOT_CONTROLLER.
    controller: Mutex<Option<Controller>>,
}

/// The controller of a ZooKeeper-mode cluster: there only the controller takes CreateTopics
/// and CreatePartitions, and every other broker answers NOT_CONTROLLER (apache/kafka
/// `KafkaApis`); KRaft brokers forward them (KIP-590). Like Kafka's own AdminClient, pipectl
/// then sends them to the controller that Metadata names, at its advertised address: an address
/// the pinned brokers gave, so the login goes nowhere the job did not allow.
struct Controller {
    id: i32,
    address: String,
    connection: Option<Connection>,
}

/// What to do when the controller cannot be reached (a port-forward to another broker).
const CONTROLLER_HELP: &str = "in ZooKeeper mode only the controller creates topics and partitions; from outside the cluster, `kubectl port-forward` to the controller's pod and give that address with --kafka-bootstrap (Metadata's controller id names the broker)";

impl Admin {
    /// The stack's admin settings, held to the job's pin (see `KafkaPin`). `default_servers`:
    /// where the brokers are when `[kafka.admin]` does not say (the kind that asks knows).
    pub fn for_stack(
        spec: &StackSpec,
        default_servers: Option<Vec<String>>,
        aws: &Aws,
        pin: &KafkaPin,
    ) -> Result<Admin> {
        let admin = spec.section::<KafkaAdmin>();
        let declared = admin
            .and_then(|a| a.bootstrap_servers.as_ref())
            .map(|servers| servers.iter().map(|s| s.get_ref().clone()).collect());
        let servers = pin
            .servers
            .clone()
            .or(declared)
            .or(default_servers)
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
        Admin::new(&pin.settle(settings)?, aws)
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
                deadline: connection::STEP_DEADLINE,
            },
            sasl,
            aws: aws.clone(),
            connection: Mutex::new(None),
            controller: Mutex::new(None),
        })
    }

    /// Runs `work` on the connection, opening it (and logging in) the first time.
    pub async fn with_connection<T>(
        &self,
        work: impl for<'c> FnOnce(&'c mut Connection) -> futures::future::BoxFuture<'c, Result<T>>,
    ) -> Result<T> {
        let mut guard = self.connection.lock().await;
        if guard.is_none() {
            *guard = Some(self.open(&self.endpoint).await?);
        }
        run_on(&mut guard, work).await
    }

    /// Runs `work` where CreateTopics and CreatePartitions go: the bootstrap connection, or,
    /// once a broker answered NOT_CONTROLLER, the controller (`route_to_controller`).
    pub async fn with_controller<T>(
        &self,
        work: impl for<'c> FnOnce(&'c mut Connection) -> futures::future::BoxFuture<'c, Result<T>>,
    ) -> Result<T> {
        let mut guard = self.controller.lock().await;
        let Some(controller) = guard.as_mut() else {
            drop(guard);
            return self.with_connection(work).await;
        };
        if controller.connection.is_none() {
            let endpoint = Endpoint {
                servers: vec![controller.address.clone()],
                ..self.endpoint.clone()
            };
            let opened = self.open(&endpoint).await.map_err(|e| {
                anyhow!(
                    "the controller (broker {} at {}) cannot be reached: {e:#}; {CONTROLLER_HELP}",
                    controller.id,
                    controller.address
                )
            })?;
            controller.connection = Some(opened);
        }
        run_on(&mut controller.connection, work).await
    }

    /// A broker answered NOT_CONTROLLER: reads the controller from Metadata (it moves during a
    /// failover, so it is read again each time) and sends the next writes there. Returns which
    /// broker that is, for messages.
    pub async fn route_to_controller(&self) -> Result<String> {
        let request = MetadataRequest::default()
            .with_topics(Some(vec![]))
            .with_allow_auto_topic_creation(false);
        let metadata = self
            .with_connection(|c| Box::pin(c.send(request)))
            .await
            .context("reading the controller from Metadata")?;
        let id = metadata.controller_id.0;
        let broker = metadata
            .brokers
            .iter()
            .find(|b| b.node_id.0 == id)
            .ok_or_else(|| {
                anyhow!("Metadata names no reachable controller (controller id {id}); {CONTROLLER_HELP}")
            })?;
        let address = format!("{}:{}", broker.host.as_str(), broker.port);
        let described = format!("broker {id} at {address}");
        *self.controller.lock().await = Some(Controller {
            id,
            address,
            connection: None,
        });
        Ok(described)
    }

    /// Opens a connection to the first server of `endpoint` that answers, logged in.
    async fn open(&self, endpoint: &Endpoint) -> Result<Connection> {
        let credentials = match &self.sasl {
            Some((mechanism, secret)) => Some(self.credentials(*mechanism, secret).await?),
            None => None,
        };
        Connection::open(endpoint, credentials.as_ref()).await
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

#[cfg(test)]
mod tests {
    use super::*;

    fn from_file(protocol: &str, secret: Option<&str>) -> AdminSettings {
        AdminSettings {
            servers: vec!["pr-host.example:9096".into()],
            security_protocol: protocol.into(),
            sasl_mechanism: "SCRAM-SHA-512".into(),
            sasl_secret_arn: secret.map(str::to_string),
        }
    }

    fn pin(servers: Option<&str>, secret: Option<&str>) -> KafkaPin {
        KafkaPin {
            servers: servers.map(|s| vec![s.to_string()]),
            secret: secret.map(str::to_string),
        }
    }

    #[test]
    fn a_login_goes_only_where_the_job_pinned_it() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:admin";
        // No pin, or half a pin: refused, whatever the file says.
        for half in [
            pin(None, None),
            pin(Some("127.0.0.1:9096"), None),
            pin(None, Some(arn)),
        ] {
            let error = half
                .settle(from_file("SASL_SSL", Some(arn)))
                .expect_err("not pinned");
            assert!(
                format!("{error}").contains("--kafka-admin-secret ARN"),
                "{error}"
            );
        }
        // Pinned: the job's brokers and secret, never the file's host.
        let settled = pin(Some("127.0.0.1:9096"), Some(arn))
            .settle(from_file("SASL_SSL", None))
            .expect("pinned");
        assert_eq!(settled.servers, vec!["127.0.0.1:9096".to_string()]);
        assert_eq!(settled.sasl_secret_arn.as_deref(), Some(arn));
        // Another secret named in the file: refused.
        let error = pin(Some("127.0.0.1:9096"), Some(arn))
            .settle(from_file(
                "SASL_SSL",
                Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:rds"),
            ))
            .expect_err("another secret");
        assert!(format!("{error}").contains("is not the secret the job allows"));
        // No login at all: the file may name its brokers.
        let plain = pin(None, None)
            .settle(from_file("SSL", None))
            .expect("no login");
        assert_eq!(plain.servers, vec!["pr-host.example:9096".to_string()]);
    }
}
