//! The role a stack's account is read with, for a fleet (`drift --role-arn-template`, `[stack]
//! role_arn`): assumed with the runner's credentials, once per role per run, the credentials
//! cached and refreshed before they expire, and every client of that account sharing them.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_types::SdkConfig;

/// A role to read a stack's account with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumedRole {
    pub arn: String,
    /// `--external-id`, when the role's trust policy asks for one.
    pub external_id: Option<String>,
    /// What CloudTrail shows: pipectl and the stack.
    pub session_name: String,
}

impl AssumedRole {
    /// The role for `stack`, with a session name that says pipectl and the stack (IAM allows
    /// 2 to 64 characters of `[\w+=,.@-]`).
    pub fn for_stack(arn: String, external_id: Option<String>, stack: &str) -> AssumedRole {
        let cleaned: String = format!("pipectl-drift-{stack}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .take(64)
            .collect();
        AssumedRole {
            arn,
            external_id,
            session_name: cleaned,
        }
    }
}

/// One credentials provider per role for the whole process: every stack of an account, and
/// every client of a stack, uses the same one, so the role is assumed once per run.
static PROVIDERS: tokio::sync::Mutex<Option<HashMap<String, SharedCredentialsProvider>>> =
    tokio::sync::Mutex::const_new(None);

/// How long before they expire credentials are assumed again.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// A role's credentials, assumed on first use, kept until shortly before they expire, then
/// assumed again. A refusal is kept too: every client of a denied account is told the same
/// answer without asking STS again in the same run.
#[derive(Debug)]
struct CachedRole<P> {
    inner: P,
    state: tokio::sync::Mutex<Option<Result<Credentials, String>>>,
}

impl<P: ProvideCredentials> CachedRole<P> {
    fn new(inner: P) -> Self {
        CachedRole {
            inner,
            state: tokio::sync::Mutex::new(None),
        }
    }

    async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        let mut state = self.state.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|expiry| expiry > SystemTime::now() + REFRESH_BEFORE_EXPIRY)
        };
        match &*state {
            Some(Ok(credentials)) if fresh(credentials) => return Ok(credentials.clone()),
            Some(Err(refused)) => return Err(CredentialsError::not_loaded(refused.clone())),
            _ => {}
        }
        let assumed = self.inner.provide_credentials().await.map_err(|error| {
            format!(
                "{}",
                aws_smithy_types::error::display::DisplayErrorContext(&error)
            )
        });
        *state = Some(assumed.clone());
        assumed.map_err(CredentialsError::not_loaded)
    }
}

impl<P: ProvideCredentials> ProvideCredentials for CachedRole<P> {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}

/// STS AssumeRole with the runner's credentials. Its answer names the assumed-role ARN, which
/// is whose the credentials are: kept (`assumed_identity`), so a stack read with a role needs
/// no GetCallerIdentity of its own.
#[derive(Debug)]
struct AssumeRole {
    sts: aws_sdk_sts::Client,
    role: AssumedRole,
}

impl AssumeRole {
    async fn assume(&self) -> Result<Credentials, CredentialsError> {
        let reply = self
            .sts
            .assume_role()
            .role_arn(&self.role.arn)
            .role_session_name(&self.role.session_name)
            .set_external_id(self.role.external_id.clone())
            .send()
            .await
            .map_err(|e| {
                CredentialsError::provider_error(format!(
                    "STS AssumeRole: {}",
                    super::describe_sdk_error(&e)
                ))
            })?;
        let keys = reply.credentials().ok_or_else(|| {
            CredentialsError::provider_error("STS AssumeRole answered no credentials")
        })?;
        if let Some(user) = reply.assumed_role_user() {
            remember_identity(&self.role.arn, user.arn());
        }
        Ok(Credentials::new(
            keys.access_key_id(),
            keys.secret_access_key(),
            Some(keys.session_token().to_string()),
            SystemTime::try_from(*keys.expiration()).ok(),
            "pipectl-assume-role",
        ))
    }
}

impl ProvideCredentials for AssumeRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.assume())
    }
}

/// Whose each role's credentials are, from its AssumeRole answer, by role ARN.
static IDENTITIES: std::sync::Mutex<Option<HashMap<String, super::account::Identity>>> =
    std::sync::Mutex::new(None);

/// Keeps whose a role's credentials are (`arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`).
fn remember_identity(role_arn: &str, assumed_arn: &str) {
    let Some(account) = assumed_arn.split(':').nth(4).filter(|a| !a.is_empty()) else {
        return;
    };
    if let Ok(mut identities) = IDENTITIES.lock() {
        identities.get_or_insert_with(HashMap::new).insert(
            role_arn.to_string(),
            super::account::Identity {
                account: account.to_string(),
                arn: assumed_arn.to_string(),
            },
        );
    }
}

/// Whose `role_arn`'s credentials are, once it was assumed.
pub fn assumed_identity(role_arn: &str) -> Option<super::account::Identity> {
    IDENTITIES
        .lock()
        .ok()
        .and_then(|identities| identities.as_ref()?.get(role_arn).cloned())
}

/// `base` (the runner's configuration) with the role's credentials instead.
pub async fn role_config(base: &SdkConfig, role: &AssumedRole) -> SdkConfig {
    let provider = {
        let mut providers = PROVIDERS.lock().await;
        let providers = providers.get_or_insert_with(HashMap::new);
        match providers.get(&role.arn) {
            Some(provider) => provider.clone(),
            None => {
                let assume = AssumeRole {
                    sts: aws_sdk_sts::Client::new(base),
                    role: role.clone(),
                };
                let provider = SharedCredentialsProvider::new(CachedRole::new(assume));
                providers.insert(role.arn.clone(), provider.clone());
                provider
            }
        }
    };
    base.to_builder().credentials_provider(provider).build()
}

/// `--role-arn-template` filled in with a stack's account (`{account_id}`).
pub fn role_from_template(template: &str, account_id: &str) -> String {
    template.replace("{account_id}", account_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_say_pipectl_and_the_stack_within_iams_rules() {
        let role = AssumedRole::for_stack("arn".into(), None, "logs prod/eu");
        assert_eq!(role.session_name, "pipectl-drift-logs-prod-eu");
        let long = AssumedRole::for_stack("arn".into(), None, &"x".repeat(100));
        assert_eq!(long.session_name.len(), 64);
    }

    /// A provider that counts its calls and answers credentials expiring `lifetime` from now,
    /// or a refusal.
    #[derive(Debug)]
    struct Counting {
        calls: std::sync::atomic::AtomicUsize,
        lifetime: Option<Duration>,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let answer = match self.lifetime {
                Some(lifetime) => Ok(Credentials::new(
                    "AKID",
                    "secret",
                    Some("token".into()),
                    Some(SystemTime::now() + lifetime),
                    "test",
                )),
                None => Err(CredentialsError::not_loaded("AccessDenied")),
            };
            future::ProvideCredentials::ready(answer)
        }
    }

    fn counting(lifetime: Option<Duration>) -> CachedRole<Counting> {
        CachedRole::new(Counting {
            calls: std::sync::atomic::AtomicUsize::new(0),
            lifetime,
        })
    }

    fn calls(role: &CachedRole<Counting>) -> usize {
        role.inner.calls.load(std::sync::atomic::Ordering::SeqCst)
    }

    #[tokio::test]
    async fn a_role_is_assumed_once_until_its_credentials_near_expiry() {
        let lasting = counting(Some(Duration::from_secs(3600)));
        for _ in 0..3 {
            assert!(lasting.credentials().await.is_ok());
        }
        assert_eq!(calls(&lasting), 1);
        // Credentials within the refresh margin of their expiry are assumed again.
        let expiring = counting(Some(Duration::from_secs(60)));
        assert!(expiring.credentials().await.is_ok());
        assert!(expiring.credentials().await.is_ok());
        assert_eq!(calls(&expiring), 2);
    }

    #[tokio::test]
    async fn a_refused_role_is_asked_once_per_run() {
        let refused = counting(None);
        assert!(refused.credentials().await.is_err());
        assert!(refused.credentials().await.is_err());
        assert_eq!(calls(&refused), 1);
    }

    #[test]
    fn the_template_takes_the_stacks_account() {
        assert_eq!(
            role_from_template(
                "arn:aws:iam::{account_id}:role/pipectl-drift",
                "111111111111"
            ),
            "arn:aws:iam::111111111111:role/pipectl-drift"
        );
    }
}
