//! Whose credentials pipectl runs with: the named profile must exist (as the AWS CLI insists),
//! and one STS GetCallerIdentity call says which account and principal every read and change
//! of this run goes to, so a plan against the wrong account is seen, or refused.

use anyhow::{bail, Result};
use aws_runtime::env_config::file::EnvConfigFiles;
use aws_types::os_shim_internal::{Env, Fs};
use serde::Serialize;

/// The caller of this run.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

/// The profile the run uses: `--profile` / `PIPECTL_PROFILE`, else `AWS_PROFILE`.
pub fn effective_profile(flag: Option<&str>) -> Option<String> {
    flag.map(str::to_string).or_else(|| {
        std::env::var("AWS_PROFILE")
            .ok()
            .filter(|name| !name.is_empty())
    })
}

/// Refuses a profile that is in neither the AWS config file nor the credentials file: the SDK
/// would otherwise go on down its chain and run with other credentials (environment variables,
/// instance role), against what may be another account.
pub async fn check_profile_exists(name: &str) -> Result<()> {
    let profiles =
        aws_config::profile::load(&Fs::real(), &Env::real(), &EnvConfigFiles::default(), None)
            .await
            .map_err(|error| anyhow::anyhow!("cannot read the AWS config files: {error}"))?;
    if profiles.get_profile(name).is_some() {
        return Ok(());
    }
    let mut known: Vec<&str> = profiles.profiles().collect();
    known.sort_unstable();
    bail!(
        "the AWS profile {name:?} could not be found in the AWS config or credentials file (profiles there: {}); check --profile, PIPECTL_PROFILE or AWS_PROFILE, or create it with `aws configure --profile {name}` (or `aws configure sso`)",
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    )
}

/// One GetCallerIdentity call: the account and ARN the credentials belong to.
pub async fn caller_identity(sts: aws_sdk_sts::Client) -> Result<Identity> {
    let reply = sts.get_caller_identity().send().await.map_err(|error| {
        anyhow::anyhow!(
            "cannot tell whose AWS credentials these are (STS GetCallerIdentity): {}",
            super::describe_sdk_error(&error)
        )
    })?;
    Ok(Identity {
        account: reply.account().unwrap_or_default().to_string(),
        arn: reply.arn().unwrap_or_default().to_string(),
    })
}

/// Refuses to go on when the credentials are of another account than the one the stack or
/// `--expect-account` names.
pub fn check_account(identity: &Identity, expected: &str, source: &str) -> Result<()> {
    if identity.account == expected {
        return Ok(());
    }
    bail!(
        "{source} names account {expected}, but the AWS credentials are of account {} ({}); nothing in the stack was read or changed\n   = help: use the profile or role of account {expected} (--profile, AWS_PROFILE), or correct {source}",
        identity.account,
        identity.arn
    )
}
