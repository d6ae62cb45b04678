//! The only code that talks to AWS or Kubernetes. One module per backend; each reads live state for a
//! desired resource, turns the difference into plan changes, and executes one step of a change.
//! Endpoints come from the standard `AWS_ENDPOINT_URL*` variables, credentials from
//! aws-config's standard chain: nothing here knows whether it talks to AWS or a test double.

pub mod dynamodb;
pub mod eks;
pub mod lambda;
pub mod lock;
pub mod sagemaker;
pub mod wait;

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
use serde::{Deserialize, Serialize};

use crate::progress::StepProgress;

/// What the apply engine executes: one provider call, followed by the wait it needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "service", rename_all = "snake_case")]
pub enum Operation {
    Dynamodb(dynamodb::TableOperation),
    Lambda(lambda::FunctionOperation),
    Autoscaler(eks::hpa::AutoscalerOperation),
    Storage(eks::storage::StorageOperation),
    Sagemaker(sagemaker::VariantOperation),
}

/// How to reach AWS, from the global flags and the stack.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub wait: wait::WaitSettings,
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
    /// The same credentials the clients use, for signing EKS tokens.
    pub credentials: aws_credential_types::provider::SharedCredentialsProvider,
    pub wait: wait::WaitSettings,
    pub region: String,
}

/// Everything apply talks to: AWS, and the Kubernetes cluster when the stack has one.
#[derive(Clone)]
pub struct Clients {
    pub aws: Aws,
    pub cluster: Option<eks::Cluster>,
}

impl Clients {
    /// Executes one step: the call, then the wait until the service reports the result settled.
    pub async fn execute(&self, operation: &Operation, progress: &StepProgress) -> Result<()> {
        let aws = &self.aws;
        match operation {
            Operation::Dynamodb(op) => dynamodb::execute(aws, op, progress).await,
            Operation::Lambda(op) => lambda::execute(aws, op, progress).await,
            Operation::Sagemaker(op) => sagemaker::execute(aws, op, progress).await,
            Operation::Storage(op) => {
                eks::storage::execute(self.cluster.as_ref(), aws, op, progress).await
            }
            Operation::Autoscaler(op) => {
                let cluster = self
                    .cluster
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("no Kubernetes cluster is connected"))?;
                eks::hpa::execute(cluster, op).await
            }
        }
    }
}

impl Aws {
    pub async fn connect(connection: &Connection) -> Result<Aws> {
        // The instance metadata service is the last link of the chain. Off EC2 its default
        // timeouts cost seconds before "no credentials" is reported; one quick attempt is enough.
        let imds = aws_config::imds::Client::builder()
            .connect_timeout(Duration::from_millis(500))
            .read_timeout(Duration::from_millis(500))
            .max_attempts(1)
            .build();
        let mut credentials = DefaultCredentialsChain::builder().imds_client(imds.clone());
        let mut profile_region = ProfileFileRegionProvider::builder();
        if let Some(profile) = &connection.profile {
            credentials = credentials.profile_name(profile);
            profile_region = profile_region.profile_name(profile);
        }
        let region_chain = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
            .or_else(profile_region.build())
            .or_else(ImdsRegionProvider::builder().imds_client(imds).build());
        let region = match &connection.region {
            Some(region) => Region::new(region.clone()),
            None => region_chain.region().await.ok_or_else(|| {
                anyhow::anyhow!(
                    "no AWS region: set [stack] region in the stack file, pass --region, or set AWS_REGION"
                )
            })?,
        };
        // The region becomes part of endpoint host names: refuse anything but a region code,
        // whether it came from the file, --region, AWS_REGION or a profile.
        if !crate::spec::validate::is_region_name(region.as_ref()) {
            anyhow::bail!(
                "{:?} is not an AWS region name; use a region code such as us-east-1 (from [stack] region, --region, AWS_REGION or the profile)",
                region.as_ref()
            );
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(region.clone())
            .credentials_provider(credentials.region(region.clone()).build().await)
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
        let config = loader.load().await;
        let credentials = config
            .credentials_provider()
            .ok_or_else(|| anyhow::anyhow!("the AWS configuration has no credentials provider"))?;
        Ok(Aws {
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            eks: aws_sdk_eks::Client::new(&config),
            sagemaker: aws_sdk_sagemaker::Client::new(&config),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
            credentials,
            wait: connection.wait.clone(),
            region: region.to_string(),
        })
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

pub fn describe_sdk_error<E, R>(error: &aws_sdk_dynamodb::error::SdkError<E, R>) -> String
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(error)),
    }
}
