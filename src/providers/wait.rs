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
    loop {
        match check().await? {
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
