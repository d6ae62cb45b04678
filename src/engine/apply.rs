//! Executing a plan. Changes are grouped into lanes (one per table, one per function): a lane
//! runs its changes in plan order, because AWS allows one change at a time on one table or one
//! function; different lanes run concurrently. When a change fails, the rest of its lane does
//! not start (it depends on the same resource) while other lanes carry on. Every step is safe
//! to repeat: a re-run re-reads live state and plans only what is still missing.
//!
//! Cancellation (the first Ctrl-C, or SIGTERM, which CI sends): no new change starts, and the
//! changes in flight stop being waited for. A wait for a backfill, a claim resize or a volume
//! modification can last hours, and what was sent keeps going on AWS's side whether pipectl
//! watches or not; such a change is reported as "started, not confirmed", and a re-run picks up
//! what is left. A lost lock only stops new changes (in-flight ones finish).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::future::{BoxFuture, FutureExt, Shared};
use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::plan::{Action, Change, Plan, ResourceId, SLOT_LANE_PREFIX};
use crate::progress::Reporter;
use crate::providers::Clients;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    Failed(String),
    /// Sent, then no longer waited for (cancelled): it may complete on AWS's side.
    Unconfirmed(String),
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
    /// (applied, failed, started but not confirmed, not started)
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut counts = (0, 0, 0, 0);
        for result in &self.results {
            match result.outcome {
                Outcome::Applied => counts.0 += 1,
                Outcome::Failed(_) => counts.1 += 1,
                Outcome::Unconfirmed(_) => counts.2 += 1,
                Outcome::NotStarted(_) => counts.3 += 1,
            }
        }
        counts
    }

    pub fn succeeded(&self) -> bool {
        let (_, failed, unconfirmed, not_started) = self.counts();
        failed == 0 && unconfirmed == 0 && not_started == 0
    }
}

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Lanes running at once.
    pub parallelism: usize,
    /// When set (the stack lock was lost), no new change starts.
    pub stop: Arc<AtomicBool>,
    /// Turns true on cancellation: no new change starts and waits stop.
    pub cancel: tokio::sync::watch::Receiver<bool>,
}

/// Groups actionable changes into lanes, keeping plan order inside each lane and the order in
/// which lanes first appear, except that a lane comes after the lane it must wait for
/// (`after_lane`): what runs after what is data the kinds declare, not the order of the registry.
fn lanes(plan: &Plan) -> Vec<Vec<&Change>> {
    let mut lanes: Vec<Vec<&Change>> = vec![];
    for change in plan.actionable() {
        match lanes.iter_mut().find(|lane| lane[0].lane == change.lane) {
            Some(lane) => lane.push(change),
            None => lanes.push(vec![change]),
        }
    }
    let mut ordered: Vec<Vec<&Change>> = vec![];
    while !lanes.is_empty() {
        // The first lane whose dependency is placed already (or not in this plan); a cycle,
        // which no kind makes, falls back to plan order.
        let ready = lanes
            .iter()
            .position(|lane| {
                dependency_of(lane)
                    .is_none_or(|after| !lanes.iter().any(|other| other[0].lane == after))
            })
            .unwrap_or(0);
        ordered.push(lanes.remove(ready));
    }
    ordered
}

/// The lane a lane waits for, if any.
fn dependency_of<'a>(lane: &[&'a Change]) -> Option<&'a str> {
    lane.iter().find_map(|c| c.after_lane.as_deref())
}

pub async fn run(
    plan: &Plan,
    clients: &Clients,
    reporter: &Reporter,
    options: &ApplyOptions,
) -> ApplyReport {
    let interrupted = options.stop.clone();
    // Each lane is a shared future so that a lane that must wait for another (volumes after
    // their StorageClass) can await its result. Lanes start in plan order, and a lane only
    // waits for an earlier one, so a full buffer never waits on a lane it has not started.
    let mut started: HashMap<String, LaneFuture<'_>> = HashMap::new();
    let mut in_order = vec![];
    for lane in lanes(plan) {
        let name = lane[0].lane.clone();
        let dependency = lane
            .iter()
            .find_map(|c| c.after_lane.clone())
            .and_then(|d| started.get(&d).cloned().map(|f| (d, f)));
        let interrupted = interrupted.clone();
        let cancel = options.cancel.clone();
        let future = async move {
            if let Some((dependency_name, dependency)) = dependency {
                let results = dependency.await;
                if results.iter().any(|r| !matches!(r.outcome, Outcome::Applied)) {
                    return Arc::new(
                        lane.iter()
                            .map(|change| ChangeResult {
                                id: change.id.clone(),
                                action: change.action,
                                outcome: Outcome::NotStarted(format!(
                                    "it needs {dependency_name} to be applied first, and that did not complete"
                                )),
                            })
                            .collect(),
                    );
                }
            }
            Arc::new(run_lane(lane, clients, reporter, interrupted, cancel).await)
        }
        .boxed()
        .shared();
        started.insert(name, future.clone());
        in_order.push(future);
    }
    let lane_results: Vec<Arc<Vec<ChangeResult>>> = stream::iter(in_order)
        .buffered(options.parallelism.max(1))
        .collect()
        .await;
    ApplyReport {
        results: lane_results
            .iter()
            .flat_map(|results| results.iter().cloned())
            .collect(),
    }
}

type LaneFuture<'a> = Shared<BoxFuture<'a, Arc<Vec<ChangeResult>>>>;

async fn run_lane(
    lane: Vec<&Change>,
    clients: &Clients,
    reporter: &Reporter,
    interrupted: Arc<AtomicBool>,
    mut cancel: tokio::sync::watch::Receiver<bool>,
) -> Vec<ChangeResult> {
    let mut results = vec![];
    let mut blocked: Option<String> = None;
    for change in lane {
        let cancelled = *cancel.borrow();
        let outcome = if let Some(why) = &blocked {
            Outcome::NotStarted(why.clone())
        } else if cancelled {
            Outcome::NotStarted("cancelled".into())
        } else if interrupted.load(Ordering::SeqCst) {
            Outcome::NotStarted("the stack's lock was lost".into())
        } else if let Some(reason) = &change.deferred {
            reporter.line(&format!("{}: deferred: {reason}", change.id));
            Outcome::NotStarted(format!("deferred: {reason}"))
        } else {
            let result = tokio::select! {
                result = run_change(change, clients, reporter) => Some(result),
                _ = cancel.wait_for(|cancelled| *cancelled) => None,
            };
            match result {
                None => {
                    // The report and the closing line say the rest; the reason is said once.
                    blocked = Some("cancelled".into());
                    Outcome::Unconfirmed(
                        "cancelled while it ran; what was sent may still complete on AWS's side"
                            .into(),
                    )
                }
                Some(Ok(())) => Outcome::Applied,
                Some(Err(error)) => {
                    // In a slot lane the changes are independent; elsewhere they touch one resource.
                    if !change.lane.starts_with(SLOT_LANE_PREFIX) {
                        blocked = Some(format!(
                            "an earlier change to the same resource failed ({})",
                            change.id
                        ));
                    }
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

async fn run_change(change: &Change, clients: &Clients, reporter: &Reporter) -> anyhow::Result<()> {
    let progress = reporter.step(&change.id.to_string());
    let started = std::time::Instant::now();
    for step in &change.steps {
        progress.note(&format!("{}...", step.description));
        if let Err(error) = super::execute(clients, step, &progress).await {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, ResourceId, ResourceKind};

    fn change(name: &str, lane: &str, after: Option<&str>) -> Change {
        Change {
            after_lane: after.map(str::to_string),
            ..Change::new(
                ResourceId::new(ResourceKind::named("test.kind"), name),
                Action::Update,
                lane,
            )
        }
    }

    /// A lane that waits for another comes after it whatever the plan's (the registry's) order.
    #[test]
    fn a_lane_runs_after_the_lane_it_waits_for_whatever_the_plan_order() {
        let plan = Plan {
            changes: vec![
                change("insights", "insights:t", Some("table:t")),
                change("other", "other", None),
                change("table", "table:t", None),
                change("index", "table:t", None),
            ],
            ..Plan::default()
        };
        let order: Vec<Vec<String>> = lanes(&plan)
            .iter()
            .map(|lane| lane.iter().map(|c| c.id.name.clone()).collect())
            .collect();
        assert_eq!(
            order,
            vec![
                vec!["other".to_string()],
                vec!["table".to_string(), "index".to_string()],
                vec!["insights".to_string()],
            ]
        );
    }
}
