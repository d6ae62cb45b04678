//! One connection to a Kafka broker's admin API: TCP (TLS when the listener has it), the
//! ApiVersions exchange that picks each request's version, and the SASL/SCRAM login. Admin
//! requests go through one connection to a bootstrap broker, so a `kubectl port-forward`
//! address works: KRaft brokers forward CreateTopics and CreatePartitions to the controller
//! (KIP-590). A ZooKeeper-mode broker that is not the controller answers NOT_CONTROLLER, and
//! `Admin` then opens a second connection to the controller Metadata names.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, RequestHeader, ResponseHeader, SaslAuthenticateRequest,
    SaslHandshakeRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::scram::{Mechanism, ScramClient};

/// How long one step (connect, TLS handshake, one request and its answer) may take before the
/// broker counts as unreachable.
pub const STEP_DEADLINE: Duration = Duration::from_secs(30);
/// Kafka's default `socket.request.max.bytes` is 100 MiB; an admin answer is far smaller, and a
/// length above this means the peer is not speaking Kafka.
const MAX_RESPONSE_BYTES: usize = 100 * 1024 * 1024;

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// SASL credentials, read from Secrets Manager just before the login.
pub struct Credentials {
    pub mechanism: Mechanism,
    pub username: String,
    pub password: secrecy::SecretString,
}

/// How to reach the admin API.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub servers: Vec<String>,
    pub tls: bool,
    /// Each network step's deadline (`STEP_DEADLINE`; shorter in tests).
    pub deadline: Duration,
}

pub struct Connection {
    stream: Box<dyn Stream>,
    /// Which broker answered, for messages.
    pub server: String,
    versions: BTreeMap<i16, (i16, i16)>,
    correlation_id: i32,
    deadline: Duration,
}

impl Connection {
    /// Connects to the first bootstrap server that answers, negotiates versions and logs in.
    pub async fn open(
        endpoint: &Endpoint,
        credentials: Option<&Credentials>,
    ) -> Result<Connection> {
        let mut failures = vec![];
        for server in &endpoint.servers {
            match Self::open_one(server, endpoint, credentials).await {
                Ok(connection) => return Ok(connection),
                // A login refused is the same on every broker: do not try the others.
                Err(error)
                    if format!("{error:#}").contains("SCRAM")
                        || format!("{error:#}").contains("SASL") =>
                {
                    return Err(error)
                }
                Err(error) => failures.push(format!("{server}: {error:#}")),
            }
        }
        bail!(
            "no Kafka bootstrap server answered ({}); from outside the cluster, reach one with `kubectl port-forward` and --kafka-bootstrap 127.0.0.1:PORT",
            failures.join("; ")
        )
    }

    async fn open_one(
        server: &str,
        endpoint: &Endpoint,
        credentials: Option<&Credentials>,
    ) -> Result<Connection> {
        let (tls, deadline) = (endpoint.tls, endpoint.deadline);
        let tcp = within(deadline, "connect", TcpStream::connect(server))
            .await?
            .context("cannot connect")?;
        tcp.set_nodelay(true).ok();
        if credentials.is_some() && !tls {
            let peer = tcp.peer_addr().context("reading the broker's address")?;
            refuse_plaintext_login_off_loopback(server, peer.ip())?;
        }
        let stream: Box<dyn Stream> = if tls {
            Box::new(within(deadline, "TLS handshake", tls_connect(server, tcp)).await??)
        } else {
            Box::new(tcp)
        };
        let mut connection = Connection {
            stream,
            server: server.to_string(),
            versions: BTreeMap::new(),
            correlation_id: 0,
            deadline,
        };
        connection.negotiate_versions().await?;
        if let Some(credentials) = credentials {
            connection.login(credentials).await?;
        }
        Ok(connection)
    }

    /// ApiVersions v3 (Kafka 2.4 and later): which versions of each request the broker takes.
    async fn negotiate_versions(&mut self) -> Result<()> {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("pipectl"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let response = self.exchange(request, 3).await.context("ApiVersions")?;
        if response.error_code != 0 {
            bail!(
                "the broker refused ApiVersions v3 ({}): pipectl needs Kafka 2.4 or later",
                error_name(response.error_code)
            );
        }
        self.versions = response
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect();
        Ok(())
    }

    async fn login(&mut self, credentials: &Credentials) -> Result<()> {
        use secrecy::ExposeSecret;
        let mechanism = credentials.mechanism.name();
        let handshake = self
            .send(
                SaslHandshakeRequest::default()
                    .with_mechanism(StrBytes::from_static_str(mechanism)),
            )
            .await?;
        if handshake.error_code != 0 {
            let enabled: Vec<&str> = handshake.mechanisms.iter().map(|m| m.as_str()).collect();
            bail!(
                "the broker does not offer SASL {mechanism} ({}); it offers {enabled:?}: set [kafka.admin] sasl_mechanism",
                error_name(handshake.error_code)
            );
        }
        let (client, first) = ScramClient::start(credentials.mechanism, &credentials.username)?;
        let server_first = self.authenticate(first.into_bytes()).await?;
        let last = client.respond(&server_first, credentials.password.expose_secret())?;
        let server_final = self.authenticate(last.message.clone().into_bytes()).await?;
        last.verify(&server_final)
    }

    async fn authenticate(&mut self, bytes: Vec<u8>) -> Result<String> {
        let response = self
            .send(SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(bytes)))
            .await?;
        if response.error_code != 0 {
            bail!(
                "SASL login as the [kafka.admin] secret's user failed: {} ({})",
                response
                    .error_message
                    .as_ref()
                    .map(|m| m.as_str())
                    .unwrap_or(""),
                error_name(response.error_code)
            );
        }
        String::from_utf8(response.auth_bytes.to_vec())
            .map_err(|_| anyhow!("the broker's SASL answer is not text"))
    }

    /// Sends a request at the highest version both sides speak.
    pub async fn send<R: Request>(&mut self, request: R) -> Result<R::Response> {
        let ours = R::VERSIONS;
        let (min, max) = self.versions.get(&R::KEY).copied().ok_or_else(|| {
            anyhow!(
                "the broker at {} does not serve {}",
                self.server,
                api_name(R::KEY)
            )
        })?;
        let version = max.min(ours.max);
        if version < min.max(ours.min) {
            bail!(
                "the broker at {} serves {} versions {min}-{max}, pipectl {}-{}",
                self.server,
                api_name(R::KEY),
                ours.min,
                ours.max
            );
        }
        self.exchange(request, version)
            .await
            .with_context(|| api_name(R::KEY))
    }

    async fn exchange<R: Request>(&mut self, request: R, version: i16) -> Result<R::Response> {
        self.correlation_id += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("pipectl")));
        let mut body = BytesMut::new();
        header.encode(&mut body, R::header_version(version))?;
        request.encode(&mut body, version)?;
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(body.len() as i32);
        frame.extend_from_slice(&body);
        let answer = tokio::time::timeout(self.deadline, async {
            self.stream.write_all(&frame).await?;
            self.stream.flush().await?;
            let length = self.stream.read_i32().await?;
            let length = usize::try_from(length)
                .ok()
                .filter(|l| *l <= MAX_RESPONSE_BYTES);
            let Some(length) = length else {
                return Err(std::io::Error::other(
                    "the peer's answer is not a Kafka frame",
                ));
            };
            let mut buffer = vec![0u8; length];
            self.stream.read_exact(&mut buffer).await?;
            Ok(buffer)
        })
        .await
        .map_err(|_| {
            anyhow!(
                "{} did not answer within {} s",
                self.server,
                self.deadline.as_secs()
            )
        })?
        .map_err(|e| anyhow!("connection to {} failed: {e}", self.server))?;
        let mut answer = Bytes::from(answer);
        let response_header =
            ResponseHeader::decode(&mut answer, R::Response::header_version(version))?;
        if response_header.correlation_id != self.correlation_id {
            bail!(
                "{} answered another request (correlation id {})",
                self.server,
                response_header.correlation_id
            );
        }
        let response = R::Response::decode(&mut answer, version)?;
        if answer.has_remaining() {
            tracing::debug!(
                bytes = answer.remaining(),
                "unread bytes after a Kafka response"
            );
        }
        Ok(response)
    }
}

/// `step` with a deadline: a peer that accepts TCP and then stays silent must not hold a plan
/// (or a nightly drift job) forever.
async fn within<T>(
    limit: Duration,
    step: &str,
    future: impl std::future::Future<Output = T>,
) -> Result<T> {
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| anyhow!("{step}: no answer within {:?}", limit))
}

/// SASL_PLAINTEXT sends the user name and the SCRAM exchange in the clear: only over loopback
/// (a `kubectl port-forward`, whose hop into the cluster is the API server's TLS) is that safe.
/// The address connected to is checked, so a name resolving elsewhere is caught too.
fn refuse_plaintext_login_off_loopback(server: &str, peer: std::net::IpAddr) -> Result<()> {
    if peer.is_loopback() {
        return Ok(());
    }
    bail!(
        "{server} ({peer}) is not a loopback address, and security_protocol SASL_PLAINTEXT would send the login unencrypted: use SASL_SSL, or reach the brokers through `kubectl port-forward` and --kafka-bootstrap 127.0.0.1:PORT"
    )
}

async fn tls_connect(
    server: &str,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>> {
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    // The system's trust store; SSL_CERT_FILE and SSL_CERT_DIR add a private CA, as for curl.
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        roots.add(cert).ok();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let host = server.rsplit_once(':').map(|(h, _)| h).unwrap_or(server);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| anyhow!("{host:?} is not a host name TLS can check"))?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|error| {
            // Through a port-forward the address is loopback, and the broker's certificate names
            // the broker: the usual cause, and its fix, said where it happens.
            let hint = if host.parse::<std::net::IpAddr>().is_ok()
                && error.to_string().contains("certificate")
            {
                format!(" (the broker's certificate names the broker, not the address {host}, as with a port-forward: map the broker's name to {host} in /etc/hosts and give that name to --kafka-bootstrap, as Kafka's own tools require)")
            } else {
                String::new()
            };
            anyhow!("TLS handshake with {server}: {error}{hint}")
        })
}

/// Kafka's name of an error code and its meaning.
pub fn error_name(code: i16) -> String {
    match kafka_protocol::error::ResponseError::try_from_code(code) {
        Some(error) => format!("{error:?}: {error}"),
        None => "no error".into(),
    }
}

/// Kafka's constant for an error code, as its documentation and logs spell it
/// (`POLICY_VIOLATION`, `TOPIC_AUTHORIZATION_FAILED`).
pub fn error_constant(code: i16) -> String {
    let Some(error) = kafka_protocol::error::ResponseError::try_from_code(code) else {
        return format!("error code {code}");
    };
    let mut constant = String::new();
    for (index, c) in format!("{error:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            constant.push('_');
        }
        constant.push(c.to_ascii_uppercase());
    }
    constant
}

fn api_name(key: i16) -> String {
    match ApiKey::try_from(key) {
        Ok(api) => format!("{api:?}"),
        Err(_) => format!("API key {key}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A peer that accepts one connection, reads one frame if `answer` is given and writes it,
    /// then holds the connection open without a word.
    async fn peer(answer: Option<Vec<u8>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address").to_string();
        tokio::spawn(async move {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            if let Some(answer) = answer {
                let mut length = [0u8; 4];
                if socket.read_exact(&mut length).await.is_err() {
                    return;
                }
                let mut request = vec![0u8; u32::from_be_bytes(length) as usize];
                if socket.read_exact(&mut request).await.is_err() {
                    return;
                }
                let _ = socket.write_all(&answer).await;
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(socket);
        });
        address
    }

    fn endpoint(server: String, tls: bool) -> Endpoint {
        Endpoint {
            servers: vec![server],
            tls,
            deadline: Duration::from_millis(300),
        }
    }

    #[tokio::test]
    async fn a_peer_silent_after_tcp_fails_the_tls_handshake_at_its_deadline() {
        let server = peer(None).await;
        let started = std::time::Instant::now();
        let error = Connection::open(&endpoint(server, true), None)
            .await
            .err()
            .expect("a silent peer cannot be connected to");
        assert!(
            format!("{error:#}").contains("TLS handshake: no answer within 300ms"),
            "{error:#}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_peer_silent_after_the_request_fails_at_the_request_deadline() {
        let server = peer(None).await;
        let error = Connection::open(&endpoint(server, false), None)
            .await
            .err()
            .expect("a silent peer cannot be connected to");
        assert!(format!("{error:#}").contains("did not answer"), "{error:#}");
    }

    /// 17 bytes: a frame length, correlation id 1, error code 0, and an ApiVersions array
    /// (compact, v3) claiming 4,294,967,294 entries. Upstream kafka-protocol allocated room for
    /// all of them first and aborted the process.
    #[tokio::test]
    async fn an_answer_claiming_billions_of_entries_is_an_error_not_an_abort() {
        let mut answer = vec![];
        let body: &[u8] = &[0, 0, 0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0];
        answer.extend_from_slice(&(body.len() as u32).to_be_bytes());
        answer.extend_from_slice(body);
        assert_eq!(answer.len(), 19);
        let server = peer(Some(answer)).await;
        let error = Connection::open(&endpoint(server, false), None)
            .await
            .err()
            .expect("a hostile answer is refused");
        assert!(format!("{error:#}").contains("ApiVersions"), "{error:#}");
    }

    #[test]
    fn a_sasl_plaintext_login_goes_to_loopback_only() {
        let allowed = |ip: &str| {
            refuse_plaintext_login_off_loopback("broker:9092", ip.parse().expect("an address"))
                .is_ok()
        };
        assert!(allowed("127.0.0.1"));
        assert!(allowed("::1"));
        assert!(!allowed("10.0.1.12"));
        assert!(!allowed("203.0.113.9"));
    }
}
