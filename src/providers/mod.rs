//! The backends: the connections to AWS (one client per service, paced under AWS's request
//! quotas), to the Kubernetes cluster (`eks`) and to the Kafka brokers' admin API (`kafka`), the
//! apply lock, and waiting for a service to settle. The kinds (`crate::kinds`) read, diff and
//! change resources through them; nothing here knows a kind. Endpoints come from the standard
//! `AWS_ENDPOINT_URL*` variables, credentials from aws-config's standard chain: nothing here
//! knows whether it talks to AWS or a test double.

pub mod account;
pub mod calls;
pub mod eks;
pub mod iam;
pub mod kafka;
pub mod lock;
pub mod organization;
pub mod prices;
pub mod quota;
pub mod roles;
pub mod usage;
pub mod wait;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::environment::EnvironmentVariableRegionProvider;
use aws_config::imds::region::ImdsRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileRegionProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;

use crate::plan::Step;

/// A stack file's integer for one of AWS's 32-bit request fields (the checks keep them in range;
/// this refuses rather than truncates should one slip through).
/// The stack file's sections the connections own (`[eks]`, `[kafka.admin]`): the kinds that use
/// a connection share its section.
pub fn connection_sections() -> Vec<crate::spec::SectionKind> {
    vec![
        crate::spec::SectionKind::of::<eks::EksSection>(),
        crate::spec::SectionKind::of::<kafka::KafkaAdmin>(),
    ]
}

/// The offline checks of the connections' sections.
pub fn connection_checks() -> Vec<crate::spec::validate::KindCheck> {
    vec![eks::section::check, kafka::section::check]
}

pub fn to_i32(value: i64) -> Result<i32> {
    i32::try_from(value)
        .map_err(|_| anyhow::anyhow!("{value} does not fit the AWS API's 32-bit field"))
}

/// A plan step for a provider's typed operation: its service, the API calls it makes, and the
/// operation as data (the plan holds it without knowing the provider).
pub fn step_of<T: serde::Serialize>(
    service: &str,
    description: String,
    api_calls: Vec<&'static str>,
    operation: &T,
) -> Step {
    Step {
        description,
        service: service.to_string(),
        api_calls: api_calls.iter().map(|c| c.to_string()).collect(),
        // These types always serialize; Null would fail to decode, never run.
        operation: serde_json::to_value(operation).unwrap_or_default(),
    }
}

/// A provider's typed operation, read back from one of its steps for execution.
pub fn operation_of<T: serde::de::DeserializeOwned>(step: &Step) -> Result<T> {
    serde_json::from_value(step.operation.clone()).map_err(|e| {
        anyhow::anyhow!(
            "step {:?}: its {} operation does not decode: {e}",
            step.description,
            step.service
        )
    })
}

/// How to reach AWS, from the global flags and the stack.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub wait: wait::WaitSettings,
    /// The share of each documented request-rate quota pipectl may use (`--api-rate-share`).
    pub api_rate_share: f64,
    /// The role to read the stack's account with (a fleet's drift), assumed with the runner's
    /// credentials.
    pub role: Option<roles::AssumedRole>,
    /// The account the calls count against, when known before the first call (a fleet's
    /// stacks): request-rate quotas are per account and region, so each account gets its own
    /// buckets.
    pub account: Option<String>,
}

/// Clients for every AWS service pipectl manages, sharing one credentials cache.
#[derive(Clone)]
pub struct Aws {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub eks: aws_sdk_eks::Client,
    pub sagemaker: aws_sdk_sagemaker::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    /// Measured usage for cost (GetMetricData only).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// The Price List Query API (`prices update`), which AWS serves in us-east-1 for every
    /// region's prices.
    pub pricing: aws_sdk_pricing::Client,
    /// IAM's policy simulator (`--check-permissions`).
    pub iam: aws_sdk_iam::Client,
    /// The Organization's accounts (`drift --organization`).
    pub organizations: aws_sdk_organizations::Client,
    /// The same credentials the clients use, for signing EKS tokens.
    pub credentials: aws_credential_types::provider::SharedCredentialsProvider,
    pub wait: wait::WaitSettings,
    pub region: String,
    /// Asks whose credentials these are (once per process and role: `caller`).
    sts: aws_sdk_sts::Client,
    /// The role these credentials are of, if one was assumed.
    pub role: Option<roles::AssumedRole>,
}

/// The caller identity, asked once per process and credentials (the runner's, or a role's):
/// every stack of a multi-stack `drift` with the same credentials shares one answer.
static CALLERS: OnceMap<String, account::Identity> = OnceMap::new();

/// Values computed once per process and key, asynchronously: whoever asks first computes, the
/// others wait for that answer. A failure is not kept: the next asker tries again.
struct OnceMap<K, V>(std::sync::Mutex<Option<HashMap<K, Arc<tokio::sync::OnceCell<V>>>>>);

impl<K: std::hash::Hash + Eq, V: Clone> OnceMap<K, V> {
    const fn new() -> Self {
        OnceMap(std::sync::Mutex::new(None))
    }

    async fn get_or_try_init<F, Fut>(&self, key: K, init: F) -> Result<V>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V>>,
    {
        let cell = {
            let mut cells = self
                .0
                .lock()
                .map_err(|_| anyhow::anyhow!("a per-process cache was poisoned"))?;
            cells
                .get_or_insert_with(HashMap::new)
                .entry(key)
                .or_default()
                .clone()
        };
        cell.get_or_try_init(init).await.cloned()
    }
}

/// Everything one stack's run reads and changes through: AWS, and the Kubernetes cluster and the
/// Kafka brokers' admin API, each opened on first use by whichever kind asks and shared by all
/// (one DescribeCluster per run, an unreachable cluster reported once). The plan opens them; the
/// apply that follows uses the same ones.
pub struct Clients {
    pub aws: Aws,
    /// `--kube-context`.
    kube_context: Option<String>,
    /// `--kafka-bootstrap` and `--kafka-admin-secret`: where a Kafka login may go.
    kafka_pin: kafka::KafkaPin,
    cluster: tokio::sync::OnceCell<std::result::Result<eks::Cluster, crate::plan::PlanError>>,
    kafka: tokio::sync::OnceCell<std::sync::Arc<kafka::Admin>>,
}

impl Clients {
    pub fn new(aws: Aws, kube_context: Option<String>, kafka_pin: kafka::KafkaPin) -> Clients {
        Clients {
            aws,
            kube_context,
            kafka_pin,
            cluster: tokio::sync::OnceCell::new(),
            kafka: tokio::sync::OnceCell::new(),
        }
    }

    /// The stack's cluster, connected the first time a kind asks; a cluster that cannot be
    /// reached is the same plan error for every kind that asks.
    pub async fn cluster(
        &self,
        spec: &crate::spec::StackSpec,
    ) -> std::result::Result<&eks::Cluster, crate::plan::PlanError> {
        self.cluster
            .get_or_init(|| async {
                let request = eks::ClusterRequest::for_stack(spec, self.kube_context.as_deref());
                eks::Cluster::connect(&self.aws, &request).await
            })
            .await
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The cluster the plan connected to, for apply.
    pub fn connected_cluster(&self) -> Result<&eks::Cluster> {
        self.cluster
            .get()
            .and_then(|connected| connected.as_ref().ok())
            .ok_or_else(|| anyhow::anyhow!("no Kubernetes cluster is connected"))
    }

    /// The brokers' admin API, set up the first time a kind asks (the connection itself opens
    /// on its first request).
    /// `default_servers`: where the brokers are when `[kafka.admin]` does not say.
    pub async fn kafka(
        &self,
        spec: &crate::spec::StackSpec,
        default_servers: Option<Vec<String>>,
    ) -> Result<std::sync::Arc<kafka::Admin>> {
        self.kafka
            .get_or_try_init(|| async {
                kafka::Admin::for_stack(spec, default_servers, &self.aws, &self.kafka_pin)
                    .map(std::sync::Arc::new)
            })
            .await
            .cloned()
    }

    /// The admin API the plan used, for apply.
    pub fn connected_kafka(&self) -> Result<std::sync::Arc<kafka::Admin>> {
        self.kafka
            .get()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no Kafka admin connection is open"))
    }
}

impl Aws {
    /// Clients for every service, after asking whose credentials they are: missing or expired
    /// credentials fail here, with how to fix them.
    pub async fn connect(connection: &Connection) -> Result<Aws> {
        let aws = Aws::connect_unchecked(connection).await?;
        aws.caller().await?;
        Ok(aws)
    }

    /// Whose credentials these are: one STS GetCallerIdentity per process (every stack of a
    /// multi-stack `drift` uses the same credentials).
    pub async fn caller(&self) -> Result<account::Identity> {
        let key = self
            .role
            .as_ref()
            .map(|r| r.arn.clone())
            .unwrap_or_default();
        // Boxed: the identity future nests inside every command's; unboxed it overflows the
        // compiler's layout depth.
        let identity = CALLERS
            .get_or_try_init(key, || Box::pin(self.ask_caller()))
            .await;
        match (identity, &self.role) {
            (Ok(identity), _) => Ok(identity.clone()),
            (Err(error), Some(role)) => Err(anyhow::anyhow!(
                "assuming role {} failed: {error:#}\n   = help: the role must exist in the stack's account, trust the runner's principal (with --external-id if its trust policy asks for one), and the runner must be allowed sts:AssumeRole on it",
                role.arn
            )),
            (Err(error), None) => Err(error),
        }
    }

    /// Whose the credentials are: for a role, what its AssumeRole answered (assuming it now
    /// if no client has yet: once per run); otherwise, or if that answer named no one, STS
    /// GetCallerIdentity.
    async fn ask_caller(&self) -> Result<account::Identity> {
        if let Some(role) = &self.role {
            use aws_credential_types::provider::ProvideCredentials;
            self.credentials.provide_credentials().await.map_err(|e| {
                anyhow::anyhow!(
                    "{}",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                )
            })?;
            if let Some(identity) = roles::assumed_identity(&role.arn) {
                return Ok(identity);
            }
        }
        account::caller_identity(self.sts.clone()).await
    }

    /// Clients for every service without asking whose credentials they are yet: for `plan`
    /// and `drift`, which ask at the same time as they read (`caller`), saving a round trip.
    pub async fn connect_unchecked(connection: &Connection) -> Result<Aws> {
        if let Some(profile) = account::effective_profile(connection.profile.as_deref()) {
            account::check_profile_exists(&profile).await?;
        }
        let region = resolve_region(connection).await?;
        let base = default_https_client();
        let config = runner_config(connection, &region).await?;
        let config = match &connection.role {
            Some(role) => roles::role_config(&config, role).await,
            None => config,
        };
        let credentials = config
            .credentials_provider()
            .ok_or_else(|| anyhow::anyhow!("the AWS configuration has no credentials provider"))?;
        // Every request of the rate-limited services waits for its quota bucket first.
        let limiter = quota::Limiter::shared(connection.api_rate_share);
        // Buckets per account and region, as AWS applies the quotas.
        let scope = format!(
            "{}/{}",
            connection.account.as_deref().unwrap_or(""),
            region.as_ref()
        );
        let paced =
            |service| quota::PacedClient::shared(base.clone(), limiter.clone(), service, &scope);
        // Each client logs its calls at -v (`calls::CallLog`); the rate-limited ones are paced.
        macro_rules! client {
            ($sdk:ident, $prefix:literal) => {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(&config)
                        .interceptor(calls::CallLog::new($prefix))
                        .build(),
                )
            };
            ($sdk:ident, $prefix:literal, paced) => {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(&config)
                        .interceptor(calls::CallLog::new($prefix))
                        .http_client(paced($prefix))
                        .build(),
                )
            };
        }
        // Every run's first call: an endpoint that refuses connections fails in seconds, not
        // after the eight backed-off attempts the other calls get (their throttling is real).
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&config)
                .interceptor(calls::CallLog::new("sts"))
                .retry_config(
                    RetryConfig::standard()
                        .with_max_attempts(3)
                        .with_initial_backoff(Duration::from_millis(200))
                        .with_max_backoff(Duration::from_secs(1)),
                )
                .build(),
        );
        Ok(Aws {
            sts,
            dynamodb: client!(aws_sdk_dynamodb, "dynamodb", paced),
            lambda: client!(aws_sdk_lambda, "lambda", paced),
            eks: client!(aws_sdk_eks, "eks"),
            sagemaker: client!(aws_sdk_sagemaker, "sagemaker"),
            autoscaling: client!(aws_sdk_applicationautoscaling, "application-autoscaling"),
            ec2: client!(aws_sdk_ec2, "ec2", paced),
            secretsmanager: client!(aws_sdk_secretsmanager, "secretsmanager"),
            cloudwatch: client!(aws_sdk_cloudwatch, "cloudwatch"),
            iam: client!(aws_sdk_iam, "iam"),
            organizations: client!(aws_sdk_organizations, "organizations"),
            pricing: aws_sdk_pricing::Client::from_conf(
                aws_sdk_pricing::config::Builder::from(&config)
                    .region(Region::new(PRICE_LIST_REGION))
                    .interceptor(calls::CallLog::new("pricing"))
                    .build(),
            ),
            credentials,
            role: connection.role.clone(),
            wait: connection.wait.clone(),
            region: region.to_string(),
        })
    }
}

/// The instance metadata client of the credentials and region chains. Off EC2 its default
/// timeouts cost seconds before "no credentials" is reported; one quick attempt is enough.
fn imds_client() -> aws_config::imds::Client {
    aws_config::imds::Client::builder()
        .connect_timeout(Duration::from_millis(500))
        .read_timeout(Duration::from_millis(500))
        .max_attempts(1)
        .build()
}

/// The region to call: the stack's or `--region`, else the environment, the profile, the
/// instance metadata. Only a region code is accepted (it becomes part of endpoint host names),
/// whichever source gave it.
async fn resolve_region(connection: &Connection) -> Result<Region> {
    let region = match &connection.region {
        Some(region) => Region::new(region.clone()),
        None => {
            let mut profile_region = ProfileFileRegionProvider::builder();
            if let Some(profile) = account::effective_profile(connection.profile.as_deref()) {
                profile_region = profile_region.profile_name(profile);
            }
            RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
                .or_else(profile_region.build())
                .or_else(ImdsRegionProvider::builder().imds_client(imds_client()).build())
                .region()
                .await
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "no AWS region: set [stack] region in the stack file, pass --region, or set AWS_REGION"
                    )
                })?
        }
    };
    if !crate::spec::validate::is_region_name(region.as_ref()) {
        anyhow::bail!(
            "{:?} is not an AWS region name; use a region code such as us-east-1 (from [stack] region, --region, AWS_REGION or the profile)",
            region.as_ref()
        );
    }
    Ok(region)
}

/// The runner's own configuration (its credentials chain, retries and timeouts) per profile
/// and region, built once per process: a fleet's stacks share it, so its credentials are
/// resolved once and its chain (whose providers set up their own clients) is built once, not
/// per stack. A failure is not kept: the next stack tries again.
static RUNNER_CONFIGS: OnceMap<(Option<String>, String), aws_config::SdkConfig> = OnceMap::new();

async fn runner_config(connection: &Connection, region: &Region) -> Result<aws_config::SdkConfig> {
    let key = (connection.profile.clone(), region.to_string());
    RUNNER_CONFIGS
        .get_or_try_init(key, || load_runner_config(connection, region))
        .await
}

async fn load_runner_config(
    connection: &Connection,
    region: &Region,
) -> Result<aws_config::SdkConfig> {
    let mut credentials = DefaultCredentialsChain::builder().imds_client(imds_client());
    if let Some(profile) = account::effective_profile(connection.profile.as_deref()) {
        credentials = credentials.profile_name(&profile);
    }
    let credentials = credentials.region(region.clone()).build().await;
    // One HTTPS client (and TLS setup) for the whole process.
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region.clone())
        .http_client(default_https_client());
    // `--profile` beats credentials in the environment, as with the AWS CLI: the profile
    // alone, never the rest of the chain.
    loader = match &connection.profile {
        Some(profile) => loader.credentials_provider(
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(profile)
                .build(),
        ),
        None => loader.credentials_provider(credentials),
    };
    loader = loader
        // Throttling and transient errors are retried with exponential backoff and jitter.
        .retry_config(RetryConfig::standard().with_max_attempts(8))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        );
    if let Some(profile) = &connection.profile {
        loader = loader.profile_name(profile);
    }
    Ok(loader.load().await)
}

/// Where the Price List Query API is served (it answers for every region).
const PRICE_LIST_REGION: &str = "us-east-1";

/// The HTTPS client the SDK would use by default (rustls with aws-lc, the connector settings and
/// sleep the SDK passes, and HTTP(S)_PROXY / NO_PROXY from the environment), built here so the
/// quota pacing can wrap it.
fn default_https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::{proxy::ProxyConfig, tls, Builder, ConnectorBuilder};
    static CLIENT: std::sync::OnceLock<aws_smithy_runtime_api::client::http::SharedHttpClient> =
        std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let hyper = Builder::new().build_with_connector_fn(|settings, components| {
                let mut connector = ConnectorBuilder::default().tls_provider(
                    tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc),
                );
                connector.set_connector_settings(settings.cloned());
                if let Some(components) = components {
                    connector.set_sleep_impl(components.sleep_impl());
                }
                connector.set_proxy_config(Some(ProxyConfig::from_env()));
                connector.build()
            });
            aws_smithy_runtime_api::client::http::SharedHttpClient::new(UncheckedClient(hyper))
        })
        .clone()
}

/// The shared HTTPS client without the check each SDK client runs on it when built: the hyper
/// client's check builds a TLS connector (loading and parsing the root certificates) and drops
/// it, so that certificates load early. Nine clients a stack made that a tenth of a 200-stack
/// fleet drift's CPU (docs/performance.md). The connector is built, and cached per settings,
/// on the first request instead.
#[derive(Debug)]
struct UncheckedClient(aws_smithy_runtime_api::client::http::SharedHttpClient);

impl aws_smithy_runtime_api::client::http::HttpClient for UncheckedClient {
    fn http_connector(
        &self,
        settings: &aws_smithy_runtime_api::client::http::HttpConnectorSettings,
        components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
    ) -> aws_smithy_runtime_api::client::http::SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// The AWS error code and message of an SDK error, for messages and decisions; falls back to
/// the full error chain when the service sent no code (timeouts, connection failures).
/// Error codes AWS answers when it is busy or briefly failing (throttling and 5xx); the SDK
/// already retried such a call, so only a long poll treats one more as transient.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceException",
    "ServiceUnavailable",
    "Unavailable",
    "dispatch failure",
];

/// Whether a read failed for a reason that passes by itself (throttling, a 5xx, a dropped
/// connection), as `describe_sdk_error` reports it.
pub fn is_transient(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    TRANSIENT_CODES.iter().any(|code| text.contains(code))
}

/// Whether errors carry their whole cause chain (`-v`), not only the service's answer.
static VERBOSE_ERRORS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `-v`: AWS errors carry their whole cause chain.
pub fn set_verbose_errors(verbose: bool) {
    VERBOSE_ERRORS.store(verbose, std::sync::atomic::Ordering::Relaxed);
}

/// Codes AWS answers for credentials that are expired or not valid.
const CREDENTIAL_CODES: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
];

/// What to do about missing or expired credentials.
const CREDENTIALS_HELP: &str = "sign in again (`aws sso login --profile NAME` for an SSO profile), choose credentials with --profile or AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; in CI, check the job's role assumption (OIDC) step";

/// An SDK error as a person needs it: the service's error code, message and request id; for a
/// call that never got an answer, what failed (connection, timeout, credentials) and its root
/// cause. Never a debug dump, a response body or a header; the whole cause chain at `-v`.
/// Missing or expired credentials say how to get new ones.
pub fn describe_sdk_error<E, R>(error: &aws_sdk_dynamodb::error::SdkError<E, R>) -> String
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    use aws_sdk_dynamodb::error::SdkError;
    use aws_sdk_dynamodb::operation::RequestId;
    if let Some(code) = error.code() {
        let mut text = code.to_string();
        if let Some(message) = error.message() {
            text.push_str(&format!(": {message}"));
        }
        if let Some(id) = error.meta().request_id() {
            text.push_str(&format!(" (request id {id})"));
        }
        if CREDENTIAL_CODES.contains(&code) {
            text.push_str(&format!(
                "\n   = help: the AWS credentials are expired or not valid: {CREDENTIALS_HELP}"
            ));
        }
        return text;
    }
    let causes = cause_chain(error);
    let what = match error {
        SdkError::DispatchFailure(_) => "dispatch failure (the request was not answered)",
        SdkError::TimeoutError(_) => "timed out",
        SdkError::ResponseError(_) => "the response could not be read",
        SdkError::ConstructionFailure(_) => "the request could not be built",
        _ => "failed",
    };
    if causes.iter().any(|c| c.contains("credential")) {
        return format!(
            "no usable AWS credentials: {}\n   = help: {CREDENTIALS_HELP}",
            shown_causes(&causes)
        );
    }
    format!("{what}: {}", shown_causes(&causes))
}

/// The Display text of an error's sources, outermost first (the error's own text is the
/// SDK's category, said by the caller).
fn cause_chain(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut causes = vec![];
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.is_empty() && causes.last() != Some(&text) {
            causes.push(text);
        }
        next = cause.source();
    }
    causes
}

/// The root cause, or the whole chain at `-v`.
fn shown_causes(causes: &[String]) -> String {
    if VERBOSE_ERRORS.load(std::sync::atomic::Ordering::Relaxed) {
        causes.join(": ")
    } else {
        // The root cause's first line: the credential chain's list of attempts is for -v.
        causes
            .last()
            .and_then(|root| root.lines().next())
            .map(|line| line.trim_end_matches(". Attempted:").to_string())
            .unwrap_or_else(|| "no further detail".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::error::{ErrorMetadata, SdkError};
    use aws_sdk_dynamodb::operation::describe_table::DescribeTableError;

    fn service_error(code: &str, message: &str) -> SdkError<DescribeTableError, HttpResponse> {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message(message)
            .custom("aws_request_id", "8f2c1a3e-request")
            .build();
        let raw = HttpResponse::new(
            400.try_into().expect("status"),
            aws_smithy_types::body::SdkBody::from("{\"__type\":\"secret body\"}"),
        );
        SdkError::service_error(DescribeTableError::generic(meta), raw)
    }

    #[test]
    fn a_service_error_is_its_code_message_and_request_id_and_never_the_body() {
        let text = describe_sdk_error(&service_error("ValidationException", "bad value"));
        assert_eq!(
            text,
            "ValidationException: bad value (request id 8f2c1a3e-request)"
        );
        let expired = describe_sdk_error(&service_error(
            "ExpiredTokenException",
            "The security token included in the request is expired",
        ));
        assert!(expired.contains("aws sso login"), "{expired}");
        assert!(!expired.contains("secret body"), "{expired}");
    }

    #[test]
    fn an_unanswered_call_shows_its_root_cause_and_the_chain_only_when_verbose() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let error: SdkError<DescribeTableError, HttpResponse> = SdkError::timeout_error(Outer(
            std::io::Error::other("Connection refused (os error 111)"),
        ));
        let short = describe_sdk_error(&error);
        assert_eq!(short, "timed out: Connection refused (os error 111)");
        set_verbose_errors(true);
        let long = describe_sdk_error(&error);
        set_verbose_errors(false);
        assert!(
            long.contains("client error (Connect): Connection refused"),
            "{long}"
        );
        assert!(!long.contains("Outer("), "{long}");
    }
}
