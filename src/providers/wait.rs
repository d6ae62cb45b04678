//! Polling until AWS says an asynchronous change has settled (a table ACTIVE, an index done
//! backfilling, a function's LastUpdateStatus Successful), with backoff and a deadline.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::progress::StepProgress;

#[derive(Debug, Clone)]
pub struct WaitSettings {
    /// First pause between two reads; it grows by half each time up to `max_interval`.
    pub initial_interval: Duration,
    pub max_interval: Duration,
    /// Give up after this long. Index backfills on large tables take hours.
    pub timeout: Duration,
}

impl Default for WaitSettings {
    fn default() -> Self {
        WaitSettings {
            initial_interval: Duration::from_millis(500),
            max_interval: Duration::from_secs(10),
            timeout: Duration::from_secs(4 * 3600),
        }
    }
}

/// What one read found.
pub enum Poll<T> {
    Ready(T),
    /// Not yet; the text says what AWS reports now (shown on the progress line).
    Pending(String),
}

/// Consecutive transient read failures a wait rides out before it fails.
const MAX_TRANSIENT_POLL_ERRORS: u32 = 5;

/// Reads with `check` until it is ready, the deadline passes, or it fails.
pub async fn until<T, F, Fut>(
    settings: &WaitSettings,
    progress: &StepProgress,
    what: &str,
    mut check: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>>>,
{
    let started = Instant::now();
    let mut interval = settings.initial_interval;
    let mut transient_errors = 0;
    loop {
        let poll = match check().await {
            Ok(poll) => {
                transient_errors = 0;
                poll
            }
            // A wait can last hours: one read throttled past the SDK's retries (or a 5xx) is
            // no reason to give the change up; a few in a row are.
            Err(error)
                if super::is_transient(&error) && transient_errors < MAX_TRANSIENT_POLL_ERRORS =>
            {
                transient_errors += 1;
                Poll::Pending(format!("reading failed, will read again: {error:#}"))
            }
            Err(error) => return Err(error),
        };
        match poll {
            Poll::Ready(value) => return Ok(value),
            Poll::Pending(status) => {
                let waited = started.elapsed();
                if waited >= settings.timeout {
                    bail!(
                        "gave up waiting for {what} after {}s (last status: {status}); re-run apply to continue from here",
                        waited.as_secs()
                    );
                }
                progress.status(&format!("waiting: {status} ({}s)", waited.as_secs()));
                tokio::time::sleep(interval).await;
                interval = (interval + interval / 2).min(settings.max_interval);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn fast() -> WaitSettings {
        WaitSettings {
            initial_interval: Duration::from_millis(1),
            max_interval: Duration::from_millis(1),
            timeout: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn a_few_throttled_reads_are_ridden_out_and_other_errors_are_not() {
        let reporter = crate::progress::Reporter::on_stderr();
        let progress = reporter.step("test");
        let calls = AtomicU32::new(0);
        let done = until(&fast(), &progress, "x", || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0..=3 => Err(anyhow::anyhow!(
                    "DescribeTable failed: ThrottlingException: Rate exceeded"
                )),
                _ => Ok(Poll::Ready(7)),
            }
        })
        .await;
        assert_eq!(done.expect("ridden out"), 7);
        let failed = until(&fast(), &progress, "x", || async {
            Err::<Poll<()>, _>(anyhow::anyhow!(
                "Kafka mapping u cannot consume: PROBLEM: x"
            ))
        })
        .await;
        assert!(failed.is_err());
        let throttled_forever = until(&fast(), &progress, "x", || async {
            Err::<Poll<()>, _>(anyhow::anyhow!(
                "RequestLimitExceeded: Request limit exceeded."
            ))
        })
        .await;
        assert!(throttled_forever.is_err(), "after a few in a row it fails");
    }
}
