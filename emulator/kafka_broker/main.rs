//! The test kit's Kafka broker double: one process that answers, on one port, the admin
//! messages pipectl sends (ApiVersions, SaslHandshake, SaslAuthenticate, Metadata, CreateTopics,
//! CreatePartitions, DescribeConfigs, IncrementalAlterConfigs), with Kafka's rules for each and
//! its error codes, over the same protocol crate pipectl uses. It stands in for a cluster of
//! `--brokers` nodes. Not a Kafka: no records, no replication.
//! Each rule and its source is listed in docs/testing.md ("The Kafka broker double").
//!
//! Two modes, as real clusters run:
//! - `--mode kraft` (the default): every broker takes every admin write and forwards it to the
//!   controller (KIP-590); all brokers are advertised at the one listening address.
//! - `--mode zookeeper`: each broker listens on its own port and is advertised there; only the
//!   controller (`--controller ID`, default 1) takes CreateTopics and CreatePartitions, every
//!   other broker answers NOT_CONTROLLER for each topic (apache/kafka `KafkaApis`
//!   `handleCreateTopicsRequest`/`handleCreatePartitionsRequest` before KRaft).
//!   `--only-bootstrap-reachable` advertises the other brokers at ports nobody listens on, as
//!   a `kubectl port-forward` to one broker sees a cluster.
//!
//! Usage: kafka-broker-double [--port P] [--brokers N] [--scram-user U --scram-password P]
//!        [--tls-cert FILE --tls-key FILE] [--log FILE] [--topic NAME:PARTITIONS:RF]...
//!        [--leader-delay-ms MS] [--time-out-every N] [--mode kraft|zookeeper]
//!        [--controller ID] [--only-bootstrap-reachable] [--offline TOPIC:PARTITION]...
//!        [--create-policy-min-replication-factor N] [--close-after-write]
//!        [--acl User:NAME:OPERATION:RESOURCE]...
//! Prints "listening on HOST:PORT" (the first broker's address) when ready.

mod acl;
mod scram_server;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{
    decode_request_header_from_buffer, Decodable, Encodable, Message, StrBytes,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

// Kafka's error codes (Errors.java).
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
const ILLEGAL_SASL_STATE: i16 = 34;
const UNSUPPORTED_VERSION: i16 = 35;
const TOPIC_ALREADY_EXISTS: i16 = 36;
const INVALID_PARTITIONS: i16 = 37;
const INVALID_REPLICATION_FACTOR: i16 = 38;
const INVALID_CONFIG: i16 = 40;
const INVALID_REQUEST: i16 = 42;
const SASL_AUTHENTICATION_FAILED: i16 = 58;
const REQUEST_TIMED_OUT: i16 = 7;
const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const NOT_CONTROLLER: i16 = 41;
const POLICY_VIOLATION: i16 = 44;

/// Kafka's broker defaults for the topic configs the double knows (server.properties defaults:
/// log.retention.hours=168, min.insync.replicas=1, log.cleanup.policy=delete, plus two others a
/// client may ask about).
const TOPIC_CONFIG_DEFAULTS: &[(&str, &str)] = &[
    ("cleanup.policy", "delete"),
    ("min.insync.replicas", "1"),
    ("retention.bytes", "-1"),
    ("retention.ms", "604800000"),
    ("segment.bytes", "1073741824"),
];
/// DescribeConfigs config sources.
const TOPIC_CONFIG: i8 = 1;
const DEFAULT_CONFIG: i8 = 5;

struct Options {
    port: u16,
    brokers: i32,
    scram: Option<scram_server::Credentials>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    log: Option<String>,
    topics: Vec<(String, i32, i16)>,
    leader_delay: Duration,
    time_out_every: u32,
    zookeeper: bool,
    controller: i32,
    only_bootstrap_reachable: bool,
    offline: Vec<(String, usize)>,
    policy_min_replication_factor: Option<i16>,
    close_after_write: bool,
    acls: Vec<acl::Acl>,
}

struct Partition {
    replicas: Vec<i32>,
    /// When it gets a leader (partitions made by the double are leaderless for
    /// `--leader-delay-ms`, as a controller takes a moment to elect).
    leader_at: Instant,
    /// `--offline`: every replica's broker is down, so it never has a leader.
    offline: bool,
}

struct Topic {
    id: uuid::Uuid,
    partitions: Vec<Partition>,
    configs: BTreeMap<String, String>,
}

struct Cluster {
    brokers: i32,
    /// Each broker's advertised port (all the same in KRaft mode).
    ports: Vec<u16>,
    zookeeper: bool,
    controller: i32,
    /// A CreateTopicPolicy (`create.topic.policy.class.name`) that refuses fewer replicas.
    policy_min_replication_factor: Option<i16>,
    authorizer: acl::Authorizer,
    topics: BTreeMap<String, Topic>,
    leader_delay: Duration,
    log: Option<String>,
    /// Every Nth write, starting with the first, is carried out but answered
    /// REQUEST_TIMED_OUT (`--time-out-every N`; 0: never).
    time_out_every: u32,
    writes: u32,
}

impl Cluster {
    fn partitions(&self, from: usize, count: usize, rf: i16) -> Vec<Partition> {
        (from..from + count)
            .map(|index| Partition {
                // Kafka's rack-unaware assignment: replicas on consecutive brokers, starting at
                // a broker that moves with the partition.
                replicas: (0..rf as i32)
                    .map(|r| (index as i32 + r) % self.brokers + 1)
                    .collect(),
                leader_at: Instant::now() + self.leader_delay,
                offline: false,
            })
            .collect()
    }

    /// Logs a request; `validate_only` for the writes that carry the flag (they change nothing).
    fn record(&self, api: &str, version: i16, validate_only: bool) {
        let Some(path) = &self.log else { return };
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(
                file,
                "{{\"api\":\"{api}\",\"version\":{version},\"validate_only\":{validate_only}}}"
            );
        }
    }
}

fn parse_options() -> Result<Options> {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        port: 0,
        brokers: 3,
        scram: None,
        tls: None,
        log: None,
        topics: vec![],
        leader_delay: Duration::ZERO,
        time_out_every: 0,
        zookeeper: false,
        controller: 1,
        only_bootstrap_reachable: false,
        offline: vec![],
        policy_min_replication_factor: None,
        close_after_write: false,
        acls: vec![],
    };
    let (mut user, mut password, mut cert, mut key) = (None, None, None, None);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| anyhow!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => options.port = value()?.parse()?,
            "--brokers" => options.brokers = value()?.parse()?,
            "--scram-user" => user = Some(value()?),
            "--scram-password" => password = Some(value()?),
            "--tls-cert" => cert = Some(value()?),
            "--tls-key" => key = Some(value()?),
            "--log" => options.log = Some(value()?),
            "--leader-delay-ms" => options.leader_delay = Duration::from_millis(value()?.parse()?),
            "--time-out-every" => options.time_out_every = value()?.parse()?,
            "--mode" => {
                options.zookeeper = match value()?.as_str() {
                    "zookeeper" => true,
                    "kraft" => false,
                    other => bail!("--mode kraft|zookeeper, not {other}"),
                }
            }
            "--controller" => options.controller = value()?.parse()?,
            "--only-bootstrap-reachable" => options.only_bootstrap_reachable = true,
            "--offline" => {
                let text = value()?;
                let (topic, partition) = text
                    .rsplit_once(':')
                    .ok_or_else(|| anyhow!("--offline TOPIC:PARTITION, not {text}"))?;
                options
                    .offline
                    .push((topic.to_string(), partition.parse()?));
            }
            "--create-policy-min-replication-factor" => {
                options.policy_min_replication_factor = Some(value()?.parse()?)
            }
            "--close-after-write" => options.close_after_write = true,
            "--acl" => options.acls.push(acl::Acl::parse(&value()?)?),
            "--topic" => {
                let text = value()?;
                let parts: Vec<&str> = text.split(':').collect();
                let [name, partitions, rf] = parts[..] else {
                    bail!("--topic NAME:PARTITIONS:RF, not {text}");
                };
                options
                    .topics
                    .push((name.to_string(), partitions.parse()?, rf.parse()?));
            }
            other => bail!("unknown flag {other}"),
        }
    }
    if let (Some(user), Some(password)) = (user, password) {
        options.scram = Some(scram_server::Credentials::new(&user, &password));
    }
    if let (Some(cert), Some(key)) = (cert, key) {
        options.tls = Some(tls_acceptor(&cert, &key)?);
    }
    Ok(options)
}

fn tls_acceptor(cert: &str, key: &str) -> Result<tokio_rustls::TlsAcceptor> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .context("reading --tls-cert")?
        .collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key).context("reading --tls-key")?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let options = parse_options()?;
    let bootstrap = TcpListener::bind(("127.0.0.1", options.port)).await?;
    let port = bootstrap.local_addr()?.port();
    // Broker id -> its listener (ZooKeeper mode: one port per broker; KRaft: one for all).
    let mut listeners = vec![(1, bootstrap)];
    let mut ports = vec![port];
    for id in 2..=options.brokers {
        if !options.zookeeper {
            ports.push(port);
            continue;
        }
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        ports.push(listener.local_addr()?.port());
        // Unreachable: the port is advertised but closed again (connections are refused).
        if !options.only_bootstrap_reachable {
            listeners.push((id, listener));
        }
    }
    let mut cluster = Cluster {
        brokers: options.brokers,
        ports,
        zookeeper: options.zookeeper,
        controller: options.controller,
        policy_min_replication_factor: options.policy_min_replication_factor,
        authorizer: acl::Authorizer::new(options.acls.clone()),
        topics: BTreeMap::new(),
        leader_delay: Duration::ZERO,
        log: options.log.clone(),
        time_out_every: options.time_out_every,
        writes: 0,
    };
    for (name, partitions, rf) in &options.topics {
        let mut partitions = cluster.partitions(0, *partitions as usize, *rf);
        for (index, partition) in partitions.iter_mut().enumerate() {
            partition.offline = options.offline.contains(&(name.clone(), index));
        }
        cluster.topics.insert(
            name.clone(),
            Topic {
                id: random_topic_id(),
                partitions,
                configs: BTreeMap::new(),
            },
        );
    }
    cluster.leader_delay = options.leader_delay;
    let cluster = Arc::new(Mutex::new(cluster));
    println!("listening on 127.0.0.1:{port}");
    std::io::stdout().flush()?;
    let broker = Arc::new(BrokerSettings {
        scram: options.scram.map(Arc::new),
        tls: options.tls.clone(),
        close_after_write: options.close_after_write,
    });
    let mut accepting = tokio::task::JoinSet::new();
    for (id, listener) in listeners {
        accepting.spawn(accept(listener, id, cluster.clone(), broker.clone()));
    }
    while let Some(done) = accepting.join_next().await {
        done??;
    }
    Ok(())
}

/// What every broker of the double shares.
struct BrokerSettings {
    scram: Option<Arc<scram_server::Credentials>>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    close_after_write: bool,
}

async fn accept(
    listener: TcpListener,
    id: i32,
    cluster: Arc<Mutex<Cluster>>,
    broker: Arc<BrokerSettings>,
) -> Result<()> {
    loop {
        let (tcp, _) = listener.accept().await?;
        let cluster = cluster.clone();
        let broker = broker.clone();
        tokio::spawn(async move {
            let result = match &broker.tls {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(stream) => serve(stream, cluster, &broker, id).await,
                    Err(e) => Err(anyhow!("TLS handshake: {e}")),
                },
                None => serve(tcp, cluster, &broker, id).await,
            };
            if let Err(error) = result {
                eprintln!("kafka-broker-double: connection closed: {error:#}");
            }
        });
    }
}

/// Where a connection's SASL login stands.
enum Login {
    NotNeeded,
    AwaitingHandshake,
    AwaitingFirst(scram_server::Mechanism),
    AwaitingFinal(scram_server::Exchange),
    Done,
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    cluster: Arc<Mutex<Cluster>>,
    broker: &BrokerSettings,
    broker_id: i32,
) -> Result<()> {
    let scram = broker.scram.clone();
    // Who the connection acts as: the SCRAM user once logged in, else ANONYMOUS.
    let principal = scram
        .as_ref()
        .map(|c| c.principal())
        .unwrap_or_else(|| "User:ANONYMOUS".to_string());
    let mut login = if scram.is_some() {
        Login::AwaitingHandshake
    } else {
        Login::NotNeeded
    };
    loop {
        let length = match stream.read_i32().await {
            Ok(length) => length,
            Err(_) => return Ok(()),
        };
        let mut frame = vec![0u8; usize::try_from(length)?];
        stream.read_exact(&mut frame).await?;
        let mut frame = Bytes::from(frame);
        let header = decode_request_header_from_buffer(&mut frame)?;
        let key = ApiKey::try_from(header.request_api_key)
            .map_err(|_| anyhow!("unknown API key {}", header.request_api_key))?;
        let version = header.request_api_version;
        // The writes with validate_only are logged once decoded.
        if !matches!(key, ApiKey::CreateTopics | ApiKey::CreatePartitions) {
            lock(&cluster)?.record(&format!("{key:?}"), version, false);
        }
        let authenticated = matches!(login, Login::NotNeeded | Login::Done);
        let body = match key {
            ApiKey::ApiVersions => api_versions(&mut frame, version)?,
            ApiKey::SaslHandshake => {
                let request = SaslHandshakeRequest::decode(&mut frame, version)?;
                let (response, next) = handshake(&request, &login);
                login = next;
                encode(response, version)?
            }
            ApiKey::SaslAuthenticate => {
                let request = SaslAuthenticateRequest::decode(&mut frame, version)?;
                let credentials = scram.as_deref();
                let (response, next) = authenticate(
                    &request,
                    std::mem::replace(&mut login, Login::Done),
                    credentials,
                );
                login = next;
                let failed = response.error_code != 0;
                let body = encode(response, version)?;
                write_frame(&mut stream, header.correlation_id, key, version, &body).await?;
                if failed {
                    // Kafka closes the connection after a failed authentication.
                    return Ok(());
                }
                continue;
            }
            // Kafka closes a connection that sends anything else before the login completes
            // (SaslServerAuthenticator: "Unexpected Kafka request ... during SASL handshake").
            _ if !authenticated => bail!("{key:?} before SASL authentication"),
            ApiKey::Metadata => {
                let request = MetadataRequest::decode(&mut frame, version)?;
                encode(lock(&cluster)?.metadata(&request, &principal), version)?
            }
            ApiKey::CreateTopics => {
                let request = CreateTopicsRequest::decode(&mut frame, version)?;
                let mut state = lock(&cluster)?;
                state.record("CreateTopics", version, request.validate_only);
                let mut response = state.create_topics(&request, broker_id, &principal);
                if !request.validate_only && state.time_out() {
                    for topic in &mut response.topics {
                        topic.error_code = REQUEST_TIMED_OUT;
                    }
                }
                encode(response, version)?
            }
            ApiKey::CreatePartitions => {
                let request = CreatePartitionsRequest::decode(&mut frame, version)?;
                let mut state = lock(&cluster)?;
                state.record("CreatePartitions", version, request.validate_only);
                let mut response = state.create_partitions(&request, broker_id, &principal);
                if !request.validate_only && state.time_out() {
                    for result in &mut response.results {
                        result.error_code = REQUEST_TIMED_OUT;
                    }
                }
                encode(response, version)?
            }
            ApiKey::DescribeConfigs => {
                let request = DescribeConfigsRequest::decode(&mut frame, version)?;
                encode(
                    lock(&cluster)?.describe_configs(&request, &principal),
                    version,
                )?
            }
            ApiKey::IncrementalAlterConfigs => {
                let request = IncrementalAlterConfigsRequest::decode(&mut frame, version)?;
                let mut state = lock(&cluster)?;
                let mut response = state.alter_configs(&request, &principal);
                if state.time_out() {
                    for result in &mut response.responses {
                        result.error_code = REQUEST_TIMED_OUT;
                    }
                }
                encode(response, version)?
            }
            other => bail!("the double does not serve {other:?}"),
        };
        write_frame(&mut stream, header.correlation_id, key, version, &body).await?;
        let write = matches!(
            key,
            ApiKey::CreateTopics | ApiKey::CreatePartitions | ApiKey::IncrementalAlterConfigs
        );
        if write && broker.close_after_write {
            // `--close-after-write`: the connection drops once a write is answered, as when a
            // broker restarts or a load balancer closes an idle connection.
            return Ok(());
        }
    }
}

fn lock(cluster: &Mutex<Cluster>) -> Result<std::sync::MutexGuard<'_, Cluster>> {
    cluster.lock().map_err(|_| anyhow!("state poisoned"))
}

fn encode<M: Encodable>(message: M, version: i16) -> Result<BytesMut> {
    let mut body = BytesMut::new();
    message.encode(&mut body, version)?;
    Ok(body)
}

async fn write_frame<S: AsyncWrite + Unpin>(
    stream: &mut S,
    correlation_id: i32,
    key: ApiKey,
    version: i16,
    body: &[u8],
) -> Result<()> {
    let mut header = BytesMut::new();
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut header, key.response_header_version(version))?;
    let mut frame = BytesMut::new();
    frame.put_i32((header.len() + body.len()) as i32);
    frame.extend_from_slice(&header);
    frame.extend_from_slice(body);
    stream.write_all(&frame).await?;
    stream.flush().await?;
    Ok(())
}

/// The requests the double serves, at every version the protocol crate knows.
fn served() -> Vec<(ApiKey, i16, i16)> {
    fn range<M: Message>(key: ApiKey) -> (ApiKey, i16, i16) {
        (key, M::VERSIONS.min, M::VERSIONS.max)
    }
    vec![
        range::<ApiVersionsRequest>(ApiKey::ApiVersions),
        range::<SaslHandshakeRequest>(ApiKey::SaslHandshake),
        range::<SaslAuthenticateRequest>(ApiKey::SaslAuthenticate),
        range::<MetadataRequest>(ApiKey::Metadata),
        range::<CreateTopicsRequest>(ApiKey::CreateTopics),
        range::<CreatePartitionsRequest>(ApiKey::CreatePartitions),
        range::<DescribeConfigsRequest>(ApiKey::DescribeConfigs),
        range::<IncrementalAlterConfigsRequest>(ApiKey::IncrementalAlterConfigs),
    ]
}

/// ApiVersions: a version the broker does not know gets UNSUPPORTED_VERSION in a v0 answer,
/// with the versions it does (KIP-511), so the client can retry.
fn api_versions(frame: &mut Bytes, version: i16) -> Result<BytesMut> {
    let keys: Vec<ApiVersion> = served()
        .into_iter()
        .map(|(key, min, max)| {
            ApiVersion::default()
                .with_api_key(key as i16)
                .with_min_version(min)
                .with_max_version(max)
        })
        .collect();
    if version > ApiVersionsRequest::VERSIONS.max {
        let response = ApiVersionsResponse::default()
            .with_error_code(UNSUPPORTED_VERSION)
            .with_api_keys(keys);
        return encode(response, 0);
    }
    let _ = ApiVersionsRequest::decode(frame, version)?;
    encode(ApiVersionsResponse::default().with_api_keys(keys), version)
}

fn handshake(request: &SaslHandshakeRequest, login: &Login) -> (SaslHandshakeResponse, Login) {
    let offered = vec![
        StrBytes::from_static_str("SCRAM-SHA-256"),
        StrBytes::from_static_str("SCRAM-SHA-512"),
    ];
    let response = SaslHandshakeResponse::default().with_mechanisms(offered);
    if !matches!(login, Login::AwaitingHandshake) {
        return (
            response.with_error_code(ILLEGAL_SASL_STATE),
            Login::AwaitingHandshake,
        );
    }
    match scram_server::Mechanism::parse(request.mechanism.as_str()) {
        Some(mechanism) => (response, Login::AwaitingFirst(mechanism)),
        None => (
            response.with_error_code(UNSUPPORTED_SASL_MECHANISM),
            Login::AwaitingHandshake,
        ),
    }
}

fn authenticate(
    request: &SaslAuthenticateRequest,
    login: Login,
    credentials: Option<&scram_server::Credentials>,
) -> (SaslAuthenticateResponse, Login) {
    let fail = |code: i16, message: String| {
        (
            SaslAuthenticateResponse::default()
                .with_error_code(code)
                .with_error_message(Some(StrBytes::from_string(message))),
            Login::AwaitingHandshake,
        )
    };
    let Some(credentials) = credentials else {
        return fail(
            ILLEGAL_SASL_STATE,
            "SASL is not enabled on this listener".into(),
        );
    };
    let text = String::from_utf8_lossy(&request.auth_bytes).to_string();
    match login {
        Login::AwaitingFirst(mechanism) => match credentials.first(mechanism, &text) {
            Ok((exchange, server_first)) => (
                SaslAuthenticateResponse::default().with_auth_bytes(Bytes::from(server_first)),
                Login::AwaitingFinal(exchange),
            ),
            Err(_) => fail(
                SASL_AUTHENTICATION_FAILED,
                format!("Authentication failed during authentication due to invalid credentials with SASL mechanism {}", mechanism.name()),
            ),
        },
        Login::AwaitingFinal(exchange) => match exchange.finish(&text) {
            Ok(server_final) => (
                SaslAuthenticateResponse::default().with_auth_bytes(Bytes::from(server_final)),
                Login::Done,
            ),
            Err(_) => fail(
                SASL_AUTHENTICATION_FAILED,
                format!("Authentication failed during authentication due to invalid credentials with SASL mechanism {}", exchange.mechanism_name()),
            ),
        },
        _ => fail(ILLEGAL_SASL_STATE, "SaslAuthenticate before SaslHandshake".into()),
    }
}

/// Kafka's Topic.validate: 1 to 249 of [a-zA-Z0-9._-], not "." or "..".
fn topic_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name == "." || name == ".." {
        return Some(format!("Topic name \"{name}\" is illegal"));
    }
    if name.len() > 249 {
        return Some(format!(
            "Topic name is illegal, it can't be longer than 249 characters, topic name: {name}"
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Some(format!("Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"));
    }
    None
}

/// Kafka's LogConfig validation of the configs the double knows; an unknown name is refused.
fn config_problem(name: &str, value: Option<&str>) -> Option<String> {
    let value = value.unwrap_or("");
    let invalid = || Some(format!("Invalid value {value} for configuration {name}"));
    match name {
        "retention.ms" | "retention.bytes" => match value.parse::<i64>() {
            Ok(v) if v >= -1 => None,
            _ => invalid(),
        },
        "min.insync.replicas" => match value.parse::<i32>() {
            Ok(v) if v >= 1 => None,
            _ => invalid(),
        },
        "segment.bytes" => match value.parse::<i32>() {
            Ok(v) if v >= 14 => None,
            _ => invalid(),
        },
        "cleanup.policy" => {
            let ok = !value.is_empty()
                && value
                    .split(',')
                    .all(|p| matches!(p.trim(), "delete" | "compact"));
            if ok {
                None
            } else {
                invalid()
            }
        }
        _ => Some(format!("Unknown topic config name: {name}")),
    }
}

fn random_topic_id() -> uuid::Uuid {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok();
    uuid::Uuid::from_bytes(bytes)
}

fn text(value: &str) -> StrBytes {
    StrBytes::from_string(value.to_string())
}

impl Cluster {
    /// Whether this write, already carried out, is answered REQUEST_TIMED_OUT: what a broker
    /// answers when the controller does not finish within the request's timeout, though the
    /// change may still complete (Kafka protocol, CreateTopics/CreatePartitions `timeout_ms`).
    fn time_out(&mut self) -> bool {
        let n = self.writes;
        self.writes += 1;
        self.time_out_every > 0 && n.is_multiple_of(self.time_out_every)
    }

    fn metadata(&self, request: &MetadataRequest, principal: &str) -> MetadataResponse {
        let brokers = (1..=self.brokers)
            .map(|id| {
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(id))
                    .with_host(text("127.0.0.1"))
                    .with_port(self.ports[(id - 1) as usize] as i32)
            })
            .collect();
        let names: Vec<String> = match &request.topics {
            // Listing all topics shows only those the principal may describe (Kafka leaves the
            // others out rather than failing them).
            None => self
                .topics
                .keys()
                .filter(|name| self.authorizer.allows(principal, "Describe", Some(name)))
                .cloned()
                .collect(),
            Some(topics) => topics
                .iter()
                .filter_map(|t| t.name.as_ref().map(|n| n.0.as_str().to_string()))
                .collect(),
        };
        let now = Instant::now();
        let topics = names
            .into_iter()
            .map(|name| {
                let response =
                    MetadataResponseTopic::default().with_name(Some(TopicName(text(&name))));
                if !self.authorizer.allows(principal, "Describe", Some(&name)) {
                    return response.with_error_code(TOPIC_AUTHORIZATION_FAILED);
                }
                // The double never creates a topic from Metadata (allow_auto_topic_creation is
                // a broker setting that production clusters turn off).
                let Some(topic) = self.topics.get(&name) else {
                    return response.with_error_code(UNKNOWN_TOPIC_OR_PARTITION);
                };
                let partitions = topic
                    .partitions
                    .iter()
                    .enumerate()
                    .map(|(index, p)| {
                        let leader = if now >= p.leader_at && !p.offline {
                            p.replicas[0]
                        } else {
                            -1
                        };
                        MetadataResponsePartition::default()
                            .with_partition_index(index as i32)
                            .with_leader_id(BrokerId(leader))
                            .with_replica_nodes(p.replicas.iter().map(|r| BrokerId(*r)).collect())
                            .with_isr_nodes(p.replicas.iter().map(|r| BrokerId(*r)).collect())
                    })
                    .collect();
                response.with_topic_id(topic.id).with_partitions(partitions)
            })
            .collect();
        MetadataResponse::default()
            .with_brokers(brokers)
            .with_cluster_id(Some(text("pipectl-kafka-double")))
            // ZooKeeper mode names the controller; a KRaft broker names a broker, which
            // forwards (KIP-590: the controller itself is not reachable by clients).
            .with_controller_id(BrokerId(if self.zookeeper { self.controller } else { 1 }))
            .with_topics(topics)
    }

    /// ZooKeeper mode: only the controller takes CreateTopics and CreatePartitions.
    fn refuses_as_non_controller(&self, broker_id: i32) -> Option<(i16, String)> {
        (self.zookeeper && broker_id != self.controller).then(|| {
            (
                NOT_CONTROLLER,
                "This is not the correct controller for this cluster.".to_string(),
            )
        })
    }

    fn create_topics(
        &mut self,
        request: &CreateTopicsRequest,
        broker_id: i32,
        principal: &str,
    ) -> CreateTopicsResponse {
        let results = request
            .topics
            .iter()
            .map(|topic| {
                let name = topic.name.0.as_str().to_string();
                let result = CreatableTopicResult::default().with_name(topic.name.clone());
                // Create on the cluster or on the topic (Kafka's CreateTopics authorization).
                let authorized = self.authorizer.allows(principal, "Create", None)
                    || self.authorizer.allows(principal, "Create", Some(&name));
                let outcome = if let Some(refusal) = self.refuses_as_non_controller(broker_id) {
                    Err(refusal)
                } else if !authorized {
                    Err((
                        TOPIC_AUTHORIZATION_FAILED,
                        "Authorization failed.".to_string(),
                    ))
                } else {
                    self.create_topic(topic, request.validate_only)
                };
                match outcome {
                    Ok((partitions, rf)) => result
                        .with_num_partitions(partitions)
                        .with_replication_factor(rf),
                    Err((code, message)) => {
                        eprintln!("kafka-broker-double: CreateTopics {name}: {message}");
                        result
                            .with_error_code(code)
                            .with_error_message(Some(text(&message)))
                    }
                }
            })
            .collect();
        CreateTopicsResponse::default().with_topics(results)
    }

    fn create_topic(
        &mut self,
        topic: &create_topics_request::CreatableTopic,
        validate_only: bool,
    ) -> Result<(i32, i16), (i16, String)> {
        let name = topic.name.0.as_str();
        if let Some(problem) = topic_name_problem(name) {
            return Err((INVALID_TOPIC_EXCEPTION, problem));
        }
        if self.topics.contains_key(name) {
            return Err((
                TOPIC_ALREADY_EXISTS,
                format!("Topic '{name}' already exists."),
            ));
        }
        // '.' and '_' are one character in Kafka's metric names, so it refuses a topic whose
        // name differs from an existing one only there (apache/kafka `Topic.hasCollision`,
        // checked by the controller's createTopic: INVALID_TOPIC_EXCEPTION).
        let colliding: Vec<&str> = self
            .topics
            .keys()
            .map(String::as_str)
            .filter(|existing| existing.replace('.', "_") == name.replace('.', "_"))
            .collect();
        if !colliding.is_empty() {
            return Err((
                INVALID_TOPIC_EXCEPTION,
                format!(
                    "Topic '{name}' collides with existing topic: {}",
                    colliding.join(", ")
                ),
            ));
        }
        // -1 takes the broker defaults num.partitions=1 and default.replication.factor=1.
        let partitions = if topic.num_partitions == -1 {
            1
        } else {
            topic.num_partitions
        };
        let rf = if topic.replication_factor == -1 {
            1
        } else {
            topic.replication_factor
        };
        if partitions < 1 {
            return Err((
                INVALID_PARTITIONS,
                "Number of partitions was set to an invalid non-positive value.".into(),
            ));
        }
        if rf < 1 {
            return Err((
                INVALID_REPLICATION_FACTOR,
                "Replication factor must be larger than 0, or -1 to use the default value.".into(),
            ));
        }
        if rf as i32 > self.brokers {
            return Err((
                INVALID_REPLICATION_FACTOR,
                format!("Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only {} broker(s) are registered.", self.brokers),
            ));
        }
        // The broker's CreateTopicPolicy runs on every request, validate_only included
        // (KIP-108), and its refusal is POLICY_VIOLATION with the policy's message.
        if let Some(minimum) = self.policy_min_replication_factor {
            if rf < minimum {
                return Err((
                    POLICY_VIOLATION,
                    format!("Topic {name}: replication factor {rf} is below the minimum of {minimum} this cluster's create.topic.policy.class.name allows"),
                ));
            }
        }
        let mut configs = BTreeMap::new();
        for config in &topic.configs {
            let value = config.value.as_ref().map(|v| v.as_str());
            if let Some(problem) = config_problem(config.name.as_str(), value) {
                return Err((INVALID_CONFIG, problem));
            }
            configs.insert(
                config.name.as_str().to_string(),
                value.unwrap_or("").to_string(),
            );
        }
        if !validate_only {
            let partitions_made = self.partitions(0, partitions as usize, rf);
            self.topics.insert(
                name.to_string(),
                Topic {
                    id: random_topic_id(),
                    partitions: partitions_made,
                    configs,
                },
            );
        }
        Ok((partitions, rf))
    }

    fn create_partitions(
        &mut self,
        request: &CreatePartitionsRequest,
        broker_id: i32,
        principal: &str,
    ) -> CreatePartitionsResponse {
        let results = request
            .topics
            .iter()
            .map(|topic| {
                let name = topic.name.0.as_str().to_string();
                let result = CreatePartitionsTopicResult::default().with_name(topic.name.clone());
                let outcome = if let Some(refusal) = self.refuses_as_non_controller(broker_id) {
                    Err(refusal)
                } else if !self.authorizer.allows(principal, "Alter", Some(&name)) {
                    Err((
                        TOPIC_AUTHORIZATION_FAILED,
                        "Authorization failed.".to_string(),
                    ))
                } else {
                    self.grow(&name, topic.count, request.validate_only)
                };
                match outcome {
                    Ok(()) => result,
                    Err((code, message)) => result
                        .with_error_code(code)
                        .with_error_message(Some(text(&message))),
                }
            })
            .collect();
        CreatePartitionsResponse::default().with_results(results)
    }

    /// Kafka's rules for CreatePartitions: the topic exists, and the count is an increase.
    fn grow(&mut self, name: &str, count: i32, validate_only: bool) -> Result<(), (i16, String)> {
        let Some(topic) = self.topics.get(name) else {
            return Err((
                UNKNOWN_TOPIC_OR_PARTITION,
                format!("The topic '{name}' does not exist."),
            ));
        };
        let current = topic.partitions.len() as i32;
        if count == current {
            return Err((
                INVALID_PARTITIONS,
                format!("Topic already has {current} partitions."),
            ));
        }
        if count < current {
            return Err((
                INVALID_PARTITIONS,
                format!("The topic {name} currently has {current} partition(s); {count} would not be an increase."),
            ));
        }
        let rf = topic
            .partitions
            .first()
            .map(|p| p.replicas.len())
            .unwrap_or(1) as i16;
        if !validate_only {
            let added = self.partitions(current as usize, (count - current) as usize, rf);
            if let Some(topic) = self.topics.get_mut(name) {
                topic.partitions.extend(added);
            }
        }
        Ok(())
    }

    fn describe_configs(
        &self,
        request: &DescribeConfigsRequest,
        principal: &str,
    ) -> DescribeConfigsResponse {
        let results = request
            .resources
            .iter()
            .map(|resource| {
                let name = resource.resource_name.as_str();
                let result = DescribeConfigsResult::default()
                    .with_resource_type(resource.resource_type)
                    .with_resource_name(resource.resource_name.clone());
                if resource.resource_type != 2 {
                    return result
                        .with_error_code(INVALID_REQUEST)
                        .with_error_message(Some(text("the double describes topics only")));
                }
                if !self
                    .authorizer
                    .allows(principal, "DescribeConfigs", Some(name))
                {
                    return result
                        .with_error_code(TOPIC_AUTHORIZATION_FAILED)
                        .with_error_message(Some(text("Authorization failed.")));
                }
                let Some(topic) = self.topics.get(name) else {
                    return result
                        .with_error_code(UNKNOWN_TOPIC_OR_PARTITION)
                        .with_error_message(Some(text(&format!(
                            "The topic '{name}' does not exist."
                        ))));
                };
                let wanted = |key: &str| {
                    resource
                        .configuration_keys
                        .as_ref()
                        .is_none_or(|keys| keys.iter().any(|k| k.as_str() == key))
                };
                let configs = TOPIC_CONFIG_DEFAULTS
                    .iter()
                    .filter(|(key, _)| wanted(key))
                    .map(|(key, default)| {
                        let (value, source) = match topic.configs.get(*key) {
                            Some(value) => (value.as_str(), TOPIC_CONFIG),
                            None => (*default, DEFAULT_CONFIG),
                        };
                        DescribeConfigsResourceResult::default()
                            .with_name(text(key))
                            .with_value(Some(text(value)))
                            .with_config_source(source)
                    })
                    .collect();
                result.with_configs(configs)
            })
            .collect();
        DescribeConfigsResponse::default().with_results(results)
    }

    fn alter_configs(
        &mut self,
        request: &IncrementalAlterConfigsRequest,
        principal: &str,
    ) -> IncrementalAlterConfigsResponse {
        let responses = request
            .resources
            .iter()
            .map(|resource| {
                let result = AlterConfigsResourceResponse::default()
                    .with_resource_type(resource.resource_type)
                    .with_resource_name(resource.resource_name.clone());
                let name = resource.resource_name.as_str();
                let outcome = if self
                    .authorizer
                    .allows(principal, "AlterConfigs", Some(name))
                {
                    self.alter_topic(resource, request.validate_only)
                } else {
                    Err((
                        TOPIC_AUTHORIZATION_FAILED,
                        "Authorization failed.".to_string(),
                    ))
                };
                match outcome {
                    Ok(()) => result,
                    Err((code, message)) => result
                        .with_error_code(code)
                        .with_error_message(Some(text(&message))),
                }
            })
            .collect();
        IncrementalAlterConfigsResponse::default().with_responses(responses)
    }

    /// SET (0) and DELETE (1) on a topic's configs, all or nothing per resource.
    fn alter_topic(
        &mut self,
        resource: &incremental_alter_configs_request::AlterConfigsResource,
        validate_only: bool,
    ) -> Result<(), (i16, String)> {
        let name = resource.resource_name.as_str();
        if resource.resource_type != 2 {
            return Err((INVALID_REQUEST, "the double alters topics only".into()));
        }
        let Some(topic) = self.topics.get(name) else {
            return Err((
                UNKNOWN_TOPIC_OR_PARTITION,
                format!("The topic '{name}' does not exist."),
            ));
        };
        let mut configs = topic.configs.clone();
        for config in &resource.configs {
            let key = config.name.as_str();
            let value = config.value.as_ref().map(|v| v.as_str());
            match config.config_operation {
                0 => {
                    if let Some(problem) = config_problem(key, value) {
                        return Err((INVALID_CONFIG, problem));
                    }
                    configs.insert(key.to_string(), value.unwrap_or("").to_string());
                }
                1 => {
                    configs.remove(key);
                }
                other => {
                    return Err((
                        INVALID_REQUEST,
                        format!("the double does not implement config operation {other}"),
                    ))
                }
            }
        }
        if !validate_only {
            if let Some(topic) = self.topics.get_mut(name) {
                topic.configs = configs;
            }
        }
        Ok(())
    }
}
