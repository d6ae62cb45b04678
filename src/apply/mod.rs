//! Executing a plan. Changes are grouped into lanes (one per table, one per function): a lane
//! runs its changes in plan order, because AWS allows one change at a time on one table or one
//! function; different lanes run concurrently. When a change fails, the rest of its lane does
//! not start (it depends on the same resource) while other lanes carry on. Ctrl-C stops new
//! changes from starting and lets the ones in flight finish. Every step is safe to repeat: a
//! re-run re-reads live state and plans only what is still missing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::plan::{Action, Change, Plan, ResourceId};
use crate::progress::Reporter;
use crate::providers::Aws;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    Failed(String),
    NotStarted(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeResult {
    pub id: ResourceId,
    pub action: Action,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    pub results: Vec<ChangeResult>,
}

impl ApplyReport {
    /// (applied, failed, not started)
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for result in &self.results {
            match result.outcome {
                Outcome::Applied => counts.0 += 1,
                Outcome::Failed(_) => counts.1 += 1,
                Outcome::NotStarted(_) => counts.2 += 1,
            }
        }
        counts
    }

    pub fn succeeded(&self) -> bool {
        self.counts().1 == 0 && self.counts().2 == 0
    }
}

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Lanes running at once.
    pub parallelism: usize,
}

/// Groups actionable changes into lanes, keeping plan order inside each lane and the order in
/// which lanes first appear.
fn lanes(plan: &Plan) -> Vec<Vec<&Change>> {
    let mut lanes: Vec<Vec<&Change>> = vec![];
    for change in plan.actionable() {
        match lanes.iter_mut().find(|lane| lane[0].lane == change.lane) {
            Some(lane) => lane.push(change),
            None => lanes.push(vec![change]),
        }
    }
    lanes
}

pub async fn run(
    plan: &Plan,
    aws: &Aws,
    reporter: &Reporter,
    options: &ApplyOptions,
) -> ApplyReport {
    let interrupted = Arc::new(AtomicBool::new(false));
    let watcher = {
        let interrupted = interrupted.clone();
        let reporter = reporter.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, Ordering::SeqCst);
                reporter
                    .line("interrupted: no new changes will start; waiting for the ones in flight");
            }
        })
    };
    let lane_results: Vec<Vec<ChangeResult>> = stream::iter(lanes(plan))
        .map(|lane| run_lane(lane, aws, reporter, interrupted.clone()))
        .buffered(options.parallelism.max(1))
        .collect()
        .await;
    watcher.abort();
    ApplyReport {
        results: lane_results.into_iter().flatten().collect(),
    }
}

async fn run_lane(
    lane: Vec<&Change>,
    aws: &Aws,
    reporter: &Reporter,
    interrupted: Arc<AtomicBool>,
) -> Vec<ChangeResult> {
    let mut results = vec![];
    let mut blocked: Option<String> = None;
    for change in lane {
        let outcome = if let Some(why) = &blocked {
            Outcome::NotStarted(why.clone())
        } else if interrupted.load(Ordering::SeqCst) {
            Outcome::NotStarted("interrupted before it started".into())
        } else {
            match run_change(change, aws, reporter).await {
                Ok(()) => Outcome::Applied,
                Err(error) => {
                    blocked = Some(format!(
                        "an earlier change to the same resource failed ({})",
                        change.id
                    ));
                    Outcome::Failed(format!("{error:#}"))
                }
            }
        };
        results.push(ChangeResult {
            id: change.id.clone(),
            action: change.action,
            outcome,
        });
    }
    results
}

async fn run_change(change: &Change, aws: &Aws, reporter: &Reporter) -> anyhow::Result<()> {
    let progress = reporter.step(&change.id.to_string());
    let started = std::time::Instant::now();
    for step in &change.steps {
        progress.note(&format!("{}...", step.description));
        if let Err(error) = aws.execute(&step.operation, &progress).await {
            progress.finish();
            reporter.line(&format!("{}: failed: {error:#}", change.id));
            return Err(error);
        }
    }
    progress.finish();
    reporter.line(&format!(
        "{}: done in {:.1}s",
        change.id,
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}
