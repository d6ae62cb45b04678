//! The permissions preflight: asks IAM's policy simulator (SimulatePrincipalPolicy) whether
//! the caller's principal may make the calls a plan needs, before anything is written.

use anyhow::Result;

use super::{describe_sdk_error, Aws};
use crate::plan::permissions::Statement;

/// A call the simulator says the principal may not make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub action: String,
    pub resource: String,
    /// IAM's decision: `explicitDeny` or `implicitDeny`.
    pub decision: String,
}

impl Denial {
    /// Why, in words: an explicit Deny, or no Allow.
    pub fn why(&self) -> &'static str {
        if self.decision == "explicitDeny" {
            "explicitly denied by a policy"
        } else {
            "no policy allows it"
        }
    }
}

/// What the preflight found.
pub enum Preflight {
    /// Every call allowed.
    Allowed,
    /// These calls are not.
    Denied(Vec<Denial>),
    /// The simulation could not be run (e.g. the caller may not call it): why.
    Unchecked(String),
}

/// The IAM principal policies are attached to, from the caller's ARN: a user as it is, an
/// assumed role's role (the ARN an assumed-role session shows loses the role's path: a role
/// under a path is named without it). The root user has no principal policies to simulate.
pub fn principal_of(caller_arn: &str) -> Option<String> {
    let (head, resource) = caller_arn
        .split_once(":assumed-role/")
        .map_or_else(|| (None, caller_arn), |(head, rest)| (Some(head), rest));
    match head {
        Some(head) => {
            let role = resource.split('/').next()?;
            let account_head = head.replacen(":sts:", ":iam:", 1);
            Some(format!("{account_head}:role/{role}"))
        }
        None if caller_arn.ends_with(":root") => None,
        None => Some(caller_arn.to_string()),
    }
}

/// Simulates each statement's actions on its resources for `principal` (one call per
/// statement: its actions and resources are exactly the pairs the plan needs).
pub async fn simulate(aws: &Aws, principal: &str, statements: &[Statement]) -> Preflight {
    let mut denied = vec![];
    for statement in statements {
        match simulate_statement(aws, principal, statement).await {
            Ok(found) => denied.extend(found),
            Err(why) => return Preflight::Unchecked(why),
        }
    }
    if denied.is_empty() {
        Preflight::Allowed
    } else {
        Preflight::Denied(denied)
    }
}

async fn simulate_statement(
    aws: &Aws,
    principal: &str,
    statement: &Statement,
) -> std::result::Result<Vec<Denial>, String> {
    let resources: Vec<String> = statement
        .resources
        .iter()
        .filter(|r| r.as_str() != "*")
        .cloned()
        .collect();
    let mut denied = vec![];
    let mut marker: Option<String> = None;
    loop {
        let reply = aws
            .iam
            .simulate_principal_policy()
            .policy_source_arn(principal)
            .set_action_names(Some(statement.actions.iter().cloned().collect()))
            .set_resource_arns((!resources.is_empty()).then(|| resources.clone()))
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "iam:SimulatePrincipalPolicy for {principal}: {}",
                    describe_sdk_error(&e)
                )
            })?;
        for result in reply.evaluation_results() {
            let decision = result.eval_decision().as_str();
            if decision != "allowed" {
                denied.push(Denial {
                    action: result.eval_action_name().to_string(),
                    resource: result.eval_resource_name().unwrap_or("*").to_string(),
                    decision: decision.to_string(),
                });
            }
        }
        match (reply.is_truncated(), reply.marker()) {
            // A marker that does not move on would page forever: stop there.
            (true, Some(next)) if marker.as_deref() != Some(next) => {
                marker = Some(next.to_string())
            }
            _ => return Ok(denied),
        }
    }
}

/// Runs the preflight for the calls `statements` name, as the caller: `Ok(None)` when all are
/// allowed or the check could not run (then with a warning on stderr), else the refusal.
pub async fn preflight(aws: &Aws, statements: &[Statement]) -> Result<Option<String>> {
    let caller = aws.caller().await?;
    let Some(principal) = principal_of(&caller.arn) else {
        eprintln!(
            "note: permissions not checked: {} is the account's root user, which policies do not restrict",
            caller.arn
        );
        return Ok(None);
    };
    match simulate(aws, &principal, statements).await {
        Preflight::Allowed => Ok(None),
        Preflight::Unchecked(why) => {
            eprintln!(
                "warning: permissions could not be checked ({}); going on without the check",
                crate::escape::printable(&why)
            );
            Ok(None)
        }
        Preflight::Denied(denials) => {
            let mut message = format!(
                "error: {principal} may not make {} of the calls this plan needs (IAM policy simulation); nothing was changed:",
                denials.len()
            );
            for denial in &denials {
                message.push_str(&format!(
                    "\n  - {} on {}: {} ({})",
                    denial.action,
                    denial.resource,
                    denial.why(),
                    denial.decision
                ));
            }
            message.push_str("\n   = help: allow them (`pipectl permissions --for apply` prints the policy this stack needs), or remove the Deny that names them");
            Ok(Some(crate::escape::log_text(&message)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assumed_role_is_checked_as_its_role() {
        assert_eq!(
            principal_of("arn:aws:sts::123456789012:assumed-role/deploy/ci-run-7").as_deref(),
            Some("arn:aws:iam::123456789012:role/deploy")
        );
        assert_eq!(
            principal_of("arn:aws:iam::123456789012:user/ci").as_deref(),
            Some("arn:aws:iam::123456789012:user/ci")
        );
        assert_eq!(principal_of("arn:aws:iam::123456789012:root"), None);
    }
}
