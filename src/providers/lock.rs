//! The apply lock: one item per stack in a DynamoDB table of the stack's own account and
//! region, so every machine of a team sees it. It is taken with a conditional put (free, or its
//! lease expired), renewed by its holder while an apply runs, and deleted at the end. Two
//! applies of one stack therefore never interleave; a holder that died leaves a lease that
//! expires, and `pipectl unlock STACK --force` removes one by hand.
//!
//! The item: `LockId` = `stack/ACCOUNT/REGION/NAME` (the key), `Holder` (user@host, pid), `Command`,
//! `AcquiredAt` and `LeaseExpiresAt` (epoch seconds, shown to people only), `LeaseSeconds`,
//! `RecordVersion`, a new random value at every acquisition and renewal, and `LeaseId`, a
//! value only this holder knows, which every renewal and the release are conditioned on.
//!
//! No decision depends on comparing clocks of two machines. As the DynamoDB Lock Client does,
//! a waiter takes a lock over only after it has itself watched the same `RecordVersion` stay
//! unchanged for a whole `LeaseSeconds` on its own monotonic clock, and the takeover is a put
//! conditioned on that version: a holder that renews (changes the version) is never taken
//! over, whatever the clocks say.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, bail, Result};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TableStatus,
};

use super::{describe_sdk_error, Aws};

pub const DEFAULT_TABLE: &str = "pipectl-locks";
/// How long a lock stays valid without renewal, by default: long enough to ride out a slow AWS
/// reply, short enough that a killed apply blocks the next one only briefly. The holder renews
/// it three times per lease, so two renewals may fail in a row without losing it.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// Who holds (or held) a lock, as stored in its item.
#[derive(Debug, Clone)]
pub struct LockInfo {
    pub holder: String,
    pub command: String,
    pub acquired_at: i64,
    pub lease_expires_at: i64,
    /// The holder's lease; absent in items older than this field.
    pub lease_seconds: Option<u64>,
    pub record_version: String,
    pub lease_id: String,
}

impl LockInfo {
    /// What changes whenever the holder renews: the record version, and for items written
    /// before it existed, the lease id and expiry.
    fn observed(&self) -> Observed {
        Observed {
            lease_id: self.lease_id.clone(),
            record_version: self.record_version.clone(),
            lease_expires_at: self.lease_expires_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Observed {
    lease_id: String,
    record_version: String,
    lease_expires_at: i64,
}

/// A new `RecordVersion`: unique per process and moment.
fn new_version() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    )
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let now = epoch_now();
        write!(
            f,
            "{} ({}), since {}s ago, lease {}",
            self.holder,
            self.command,
            now - self.acquired_at,
            if self.lease_expires_at > now {
                format!("valid for {}s more", self.lease_expires_at - now)
            } else {
                format!("expired {}s ago", now - self.lease_expires_at)
            }
        )
    }
}

fn epoch_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64
}

/// The lock's key: the stack's name within the account and region whose credentials run it.
/// The table is per account and region already; the key says both as well, so a table shared
/// through `--lock-table` in another region, or two stacks of one name in different places,
/// never share a lock, and the item tells a reader whose lock it is.
async fn lock_id(aws: &Aws, stack: &str) -> Result<String> {
    let account = aws.caller().await?.account;
    Ok(format!("stack/{account}/{}/{stack}", aws.region))
}

/// Who holds a lock, enough for a teammate to find the run: the CI job's URL (or id) when the
/// usual variables of a CI system are set, else `user@host`; with the process id.
pub fn this_holder() -> String {
    holder_from(&|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

fn holder_from(env: &dyn Fn(&str) -> Option<String>) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .or_else(|| env("HOSTNAME"))
        .unwrap_or_else(|| "unknown-host".into());
    let pid = std::process::id();
    if let Some(job) = ci_job(env) {
        return format!("{job} (on {host}, pid {pid})");
    }
    let user = env("USER")
        .or_else(|| env("USERNAME"))
        .unwrap_or_else(|| "unknown".into());
    format!("{user}@{host} (pid {pid})")
}

/// The CI job this process runs in, from the variables each CI system documents.
fn ci_job(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let all = |names: &[&str]| -> Option<Vec<String>> { names.iter().map(|n| env(n)).collect() };
    if let Some([server, repo, run]) =
        all(&["GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"]).as_deref()
    {
        return Some(format!(
            "GitHub Actions job {server}/{repo}/actions/runs/{run}"
        ));
    }
    let by_url = [
        ("CI_JOB_URL", "GitLab CI job"),
        ("BUILDKITE_BUILD_URL", "Buildkite build"),
        ("CIRCLE_BUILD_URL", "CircleCI job"),
        ("BUILD_URL", "Jenkins build"),
        ("CODEBUILD_BUILD_ARN", "AWS CodeBuild build"),
    ];
    if let Some((url, system)) = by_url
        .iter()
        .find_map(|(name, system)| env(name).map(|url| (url, system)))
    {
        return Some(format!("{system} {url}"));
    }
    if let Some([collection, project, build]) = all(&[
        "SYSTEM_COLLECTIONURI",
        "SYSTEM_TEAMPROJECT",
        "BUILD_BUILDID",
    ])
    .as_deref()
    {
        return Some(format!(
            "Azure Pipelines build {collection}{project}/_build/results?buildId={build}"
        ));
    }
    if let Some([repo, build]) =
        all(&["BITBUCKET_REPO_FULL_NAME", "BITBUCKET_BUILD_NUMBER"]).as_deref()
    {
        return Some(format!(
            "Bitbucket Pipelines build https://bitbucket.org/{repo}/pipelines/results/{build}"
        ));
    }
    env("CI_JOB_ID").map(|id| format!("CI job {id}"))
}

/// A held lock. Renewed in the background until `release`; `lost()` turns true if a renewal
/// finds the lock taken by someone else (then apply must stop starting changes).
pub struct Lock {
    aws: Aws,
    table: String,
    id: String,
    lease_id: String,
    lease: Duration,
    lost: Arc<AtomicBool>,
    renewal: tokio::task::JoinHandle<()>,
}

/// What acquiring found.
pub enum Acquired {
    Free(Lock),
    /// The previous holder's lease had expired; its details are reported.
    TakenOver(Lock, LockInfo),
}

impl Lock {
    /// Takes the stack's lock, waiting up to `timeout` while someone else holds it.
    /// `waiting` is called once with the holder when pipectl starts to wait.
    pub async fn acquire(
        aws: &Aws,
        table: &str,
        stack: &str,
        command: &str,
        lease: Duration,
        timeout: Duration,
        mut waiting: impl FnMut(&LockInfo),
    ) -> Result<Acquired> {
        ensure_table(aws, table).await?;
        let id = lock_id(aws, stack).await?;
        let lease_id = new_version();
        let started = Instant::now();
        let mut announced = false;
        // The version of the holder's record this run has seen, and since when (monotonic).
        let mut watched: Option<(Observed, Instant)> = None;
        loop {
            let current = read(aws, table, &id).await?;
            let attempt = Attempt::after_look(current.as_ref(), &lease_id, lease, &mut watched);
            let condition = match &attempt {
                Attempt::Free => Some(None),
                Attempt::TakeOver(seen) => Some(Some(seen.clone())),
                Attempt::Ours => {
                    return Ok(Acquired::Free(Lock::held(aws, table, id, lease_id, lease)))
                }
                Attempt::Wait => None,
            };
            if let Some(condition) = condition {
                match put_record(
                    aws,
                    table,
                    &id,
                    command,
                    lease,
                    &lease_id,
                    condition.as_ref(),
                )
                .await
                {
                    Ok(()) => {
                        let lock = Lock::held(aws, table, id, lease_id, lease);
                        return Ok(match (attempt, current) {
                            (Attempt::TakeOver(_), Some(info)) => Acquired::TakenOver(lock, info),
                            _ => Acquired::Free(lock),
                        });
                    }
                    // Someone else wrote first (or the holder renewed): look again.
                    Err(PutError::Conflict) => {
                        watched = None;
                        continue;
                    }
                    Err(PutError::Other(message)) => {
                        bail!("taking the lock of stack {stack} in table {table} failed: {message}")
                    }
                }
            }
            let Some(holder) = current else { continue };
            if started.elapsed() >= timeout {
                bail!(
                    "stack {stack} is locked by {holder}; gave up after waiting {}s (--lock-timeout). If that run is gone, its lock is taken over once it has not been renewed for a whole lease, or remove it now with `pipectl unlock {stack} --force`",
                    started.elapsed().as_secs()
                );
            }
            if !announced {
                waiting(&holder);
                announced = true;
            }
            let left = timeout.saturating_sub(started.elapsed());
            tokio::time::sleep(
                Duration::from_secs(2)
                    .min(left)
                    .max(Duration::from_millis(200)),
            )
            .await;
        }
    }

    fn held(aws: &Aws, table: &str, id: String, lease_id: String, lease: Duration) -> Lock {
        let lost = Arc::new(AtomicBool::new(false));
        let renewal = {
            let (aws, table, id, lease_id, lost) = (
                aws.clone(),
                table.to_string(),
                id.clone(),
                lease_id.clone(),
                lost.clone(),
            );
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    // A new version tells every waiter this holder is alive.
                    let renewed = aws
                        .dynamodb
                        .update_item()
                        .table_name(&table)
                        .key("LockId", AttributeValue::S(id.clone()))
                        .update_expression("SET LeaseExpiresAt = :until, RecordVersion = :version")
                        .condition_expression("LeaseId = :mine")
                        .expression_attribute_values(
                            ":until",
                            AttributeValue::N((epoch_now() + lease.as_secs() as i64).to_string()),
                        )
                        .expression_attribute_values(":version", AttributeValue::S(new_version()))
                        .expression_attribute_values(":mine", AttributeValue::S(lease_id.clone()))
                        .send()
                        .await;
                    match renewed {
                        Ok(_) => {}
                        Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                            lost.store(true, Ordering::SeqCst);
                            eprintln!(
                                "error: the lock {id} was removed or taken by someone else: no further change will start"
                            );
                            return;
                        }
                        // A failed renewal is retried; the lease covers two more attempts.
                        Err(err) => tracing::warn!(
                            "renewing the lock {id} failed: {}",
                            describe_sdk_error(&err)
                        ),
                    }
                }
            })
        };
        Lock {
            aws: aws.clone(),
            table: table.to_string(),
            id,
            lease_id,
            lease,
            lost,
            renewal,
        }
    }

    /// Set when the lock was lost (someone forced it or took it over after a stall).
    pub fn lost_flag(&self) -> Arc<AtomicBool> {
        self.lost.clone()
    }

    /// Stops renewing and deletes the item, if it is still ours.
    pub async fn release(self) -> Result<()> {
        self.renewal.abort();
        self.releaser().release().await
    }

    /// What deletes this lock, for a signal handler that must release it before quitting.
    pub fn releaser(&self) -> LockReleaser {
        LockReleaser {
            aws: self.aws.clone(),
            table: self.table.clone(),
            id: self.id.clone(),
            lease_id: self.lease_id.clone(),
            lease: self.lease,
        }
    }
}

/// Deletes a held lock's item, if it is still this holder's.
#[derive(Clone)]
pub struct LockReleaser {
    aws: Aws,
    table: String,
    id: String,
    lease_id: String,
    lease: Duration,
}

impl LockReleaser {
    pub async fn release(&self) -> Result<()> {
        match self
            .aws
            .dynamodb
            .delete_item()
            .table_name(&self.table)
            .key("LockId", AttributeValue::S(self.id.clone()))
            .condition_expression("LeaseId = :mine")
            .expression_attribute_values(":mine", AttributeValue::S(self.lease_id.clone()))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some("ConditionalCheckFailedException") => Ok(()),
            Err(err) => Err(anyhow!(
                "releasing the lock {} failed (it expires by itself in {}s): {}",
                self.id,
                self.lease.as_secs(),
                describe_sdk_error(&err)
            )),
        }
    }
}

fn attribute(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::S(s)) | Some(AttributeValue::N(s)) => s.clone(),
        _ => String::new(),
    }
}

/// The lock item of a stack, if there is one.
pub async fn read(aws: &Aws, table: &str, id: &str) -> Result<Option<LockInfo>> {
    let output = aws
        .dynamodb
        .get_item()
        .table_name(table)
        .key("LockId", AttributeValue::S(id.to_string()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| anyhow!("reading the lock {id} failed: {}", describe_sdk_error(&e)))?;
    Ok(output.item().map(|item| LockInfo {
        holder: attribute(item, "Holder"),
        command: attribute(item, "Command"),
        acquired_at: attribute(item, "AcquiredAt").parse().unwrap_or(0),
        lease_expires_at: attribute(item, "LeaseExpiresAt").parse().unwrap_or(0),
        lease_seconds: attribute(item, "LeaseSeconds").parse().ok(),
        record_version: attribute(item, "RecordVersion"),
        lease_id: attribute(item, "LeaseId"),
    }))
}

/// What one look at the lock record allows.
enum Attempt {
    Free,
    /// Our own record (a lost reply to our put).
    Ours,
    /// The holder's record stayed as observed for a whole lease, as this run watched it.
    TakeOver(Observed),
    Wait,
}

impl Attempt {
    /// What the record as read now allows, given this run's lease and what it watched before
    /// (updated when the holder's record changed).
    fn after_look(
        current: Option<&LockInfo>,
        lease_id: &str,
        lease: Duration,
        watched: &mut Option<(Observed, Instant)>,
    ) -> Attempt {
        let Some(holder) = current else {
            return Attempt::Free;
        };
        // Our own record: a retried put whose reply was lost wrote it already.
        if holder.lease_id == lease_id {
            return Attempt::Ours;
        }
        let their_lease = holder.lease_seconds.map_or(lease, Duration::from_secs);
        let seen = holder.observed();
        match watched {
            Some((before, since)) if *before == seen && since.elapsed() >= their_lease => {
                Attempt::TakeOver(seen)
            }
            Some((before, _)) if *before == seen => Attempt::Wait,
            _ => {
                *watched = Some((seen, Instant::now()));
                Attempt::Wait
            }
        }
    }
}

enum PutError {
    Conflict,
    Other(String),
}

/// Writes this run's lock record, if the item is absent (`expected` None) or still exactly as
/// this run watched it.
async fn put_record(
    aws: &Aws,
    table: &str,
    id: &str,
    command: &str,
    lease: Duration,
    lease_id: &str,
    expected: Option<&Observed>,
) -> std::result::Result<(), PutError> {
    let now = epoch_now();
    let mut request = aws
        .dynamodb
        .put_item()
        .table_name(table)
        .item("LockId", AttributeValue::S(id.to_string()))
        .item("Holder", AttributeValue::S(this_holder()))
        .item("Command", AttributeValue::S(command.to_string()))
        .item("AcquiredAt", AttributeValue::N(now.to_string()))
        .item(
            "LeaseExpiresAt",
            AttributeValue::N((now + lease.as_secs() as i64).to_string()),
        )
        .item(
            "LeaseSeconds",
            AttributeValue::N(lease.as_secs().to_string()),
        )
        .item("RecordVersion", AttributeValue::S(new_version()))
        .item("LeaseId", AttributeValue::S(lease_id.to_string()));
    request = match expected {
        None => request.condition_expression("attribute_not_exists(LockId)"),
        Some(seen) => {
            let request = request
                .expression_attribute_values(":lease", AttributeValue::S(seen.lease_id.clone()))
                .expression_attribute_values(
                    ":expiry",
                    AttributeValue::N(seen.lease_expires_at.to_string()),
                );
            if seen.record_version.is_empty() {
                request.condition_expression(
                    "LeaseId = :lease AND LeaseExpiresAt = :expiry AND attribute_not_exists(RecordVersion)",
                )
            } else {
                request
                    .condition_expression(
                        "LeaseId = :lease AND LeaseExpiresAt = :expiry AND RecordVersion = :version",
                    )
                    .expression_attribute_values(
                        ":version",
                        AttributeValue::S(seen.record_version.clone()),
                    )
            }
        }
    };
    match request.send().await {
        Ok(_) => Ok(()),
        Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
            Err(PutError::Conflict)
        }
        Err(err) => Err(PutError::Other(describe_sdk_error(&err))),
    }
}

/// The lock of a stack, for `pipectl unlock`.
pub async fn read_stack_lock(aws: &Aws, table: &str, stack: &str) -> Result<Option<LockInfo>> {
    match read(aws, table, &lock_id(aws, stack).await?).await {
        Err(e) if format!("{e:#}").contains("ResourceNotFoundException") => Ok(None),
        other => other,
    }
}

/// Deletes a stack's lock whoever holds it (`pipectl unlock --force`).
pub async fn force_unlock(aws: &Aws, table: &str, stack: &str) -> Result<()> {
    aws.dynamodb
        .delete_item()
        .table_name(table)
        .key("LockId", AttributeValue::S(lock_id(aws, stack).await?))
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "deleting the lock of {stack} failed: {}",
                describe_sdk_error(&e)
            )
        })?;
    Ok(())
}

/// Creates the lock table on first use (on-demand, key `LockId`), and waits until it is ACTIVE.
async fn ensure_table(aws: &Aws, table: &str) -> Result<()> {
    let status = match aws.dynamodb.describe_table().table_name(table).send().await {
        Ok(output) => output.table().and_then(|t| t.table_status().cloned()),
        Err(err) if err.code() == Some("ResourceNotFoundException") => {
            let created = aws
                .dynamodb
                .create_table()
                .table_name(table)
                .billing_mode(BillingMode::PayPerRequest)
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name("LockId")
                        .attribute_type(ScalarAttributeType::S)
                        .build()?,
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name("LockId")
                        .key_type(KeyType::Hash)
                        .build()?,
                )
                .send()
                .await;
            match created {
                Ok(output) => output
                    .table_description()
                    .and_then(|t| t.table_status().cloned()),
                // Another apply created it at the same moment.
                Err(err) if err.code() == Some("ResourceInUseException") => None,
                Err(err) => bail!(
                    "creating the lock table {table} failed: {}; create it yourself (key LockId, type S) or pass --lock-table",
                    describe_sdk_error(&err)
                ),
            }
        }
        Err(err) => bail!(
            "reading the lock table {table} failed: {}",
            describe_sdk_error(&err)
        ),
    };
    if status == Some(TableStatus::Active) {
        return Ok(());
    }
    for _ in 0..120 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let output = aws
            .dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "reading the lock table {table} failed: {}",
                    describe_sdk_error(&e)
                )
            })?;
        if output.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
    }
    bail!("the lock table {table} did not become ACTIVE within a minute")
}

/// What apply's lock needs in the lock table (the Service Authorization Reference: every
/// action here has DynamoDB's `table` resource type).
pub fn permissions(
    table: &str,
    scope: &crate::plan::permissions::Scope,
) -> crate::plan::permissions::Permissions {
    use crate::plan::permissions::{Permissions, WRITE};
    let mut out = Permissions::default();
    let arn = || scope.arn("dynamodb", &format!("table/{table}"));
    for action in [
        "dynamodb:DescribeTable",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
    ] {
        out.aws(action, arn(), WRITE);
    }
    let from = out.aws.len();
    out.aws("dynamodb:UpdateItem", arn(), WRITE);
    out.only_when(
        from,
        "the apply outlasts a third of the lock's lease (it renews the lock)",
    );
    let from = out.aws.len();
    out.aws("dynamodb:CreateTable", arn(), WRITE);
    out.only_when(
        from,
        "the lock table does not exist yet (the first apply in the account)",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_holder_is_the_ci_job_when_there_is_one() {
        let github = env_of(&[
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/pipeline"),
            ("GITHUB_RUN_ID", "42"),
        ]);
        assert!(holder_from(&github).starts_with(
            "GitHub Actions job https://github.com/acme/pipeline/actions/runs/42 (on "
        ));
        let gitlab = env_of(&[("CI_JOB_URL", "https://gitlab.com/acme/p/-/jobs/7")]);
        assert!(
            holder_from(&gitlab).starts_with("GitLab CI job https://gitlab.com/acme/p/-/jobs/7")
        );
        let person = env_of(&[("USER", "ana")]);
        assert!(holder_from(&person).starts_with("ana@"));
        let nobody = env_of(&[]);
        assert!(holder_from(&nobody).starts_with("unknown@"));
    }
}
