//! `pipectl import`: a stack file from live state, so a team that already runs the stack (made
//! by hand, by the AWS CLI as in the seed article, by Terraform or Helm) starts from a file
//! that `plan` shows as **no changes**. Each kind reads what its flags name (or discovery finds)
//! through its own reads, so the file says exactly what a plan will compare, and writes its
//! sections (`Kind::import`); this loop writes `[stack]`, `[eks]` and the `[[ignore]]` rules
//! around them. Deterministic (sorted, no timestamps), so importing again after an apply gives
//! the same file. Settings pipectl would change for safety are written as live and flagged,
//! never changed silently.

use anyhow::Result;

use super::registry::KINDS;
use crate::kinds::kind::ImportContext;
use crate::providers::Aws;
use crate::spec::write::{quoted, quoted_list, StackWriter};

/// Reads what the request names or discovers, and writes the stack file. Fails when a named
/// object does not exist.
pub async fn import(aws: &Aws, context: &ImportContext<'_>) -> Result<StackWriter> {
    let mut parts = vec![];
    for kind in KINDS {
        if let Some(part) = kind.import(context).await? {
            parts.push(part);
        }
    }
    let account = aws.caller().await?.account;
    let mut out = StackWriter::default();
    out.line(&format!(
        "# Imported by `pipectl import` from AWS account {account}, region {}.",
        aws.region
    ));
    out.line(
        "# Each block says where it came from. Lines under \"# REVIEW:\" are live settings pipectl",
    );
    out.line("# would not choose; they are kept as they are, so the first plan changes nothing.");
    out.line("");
    out.line("[stack]");
    out.key("name", quoted(context.stack_name));
    out.key("region", quoted(&aws.region));
    out.key("account_id", quoted(&account));
    if let Some(namespace) = parts.iter().find_map(|part| part.namespace.as_deref()) {
        out.line("");
        out.line("[eks]");
        if let Some(cluster) = &context.cluster {
            out.key("cluster", quoted(cluster));
        }
        if let Some(kube_context) = &context.kube_context {
            out.key("kube_context", quoted(kube_context));
        }
        out.key("namespace", quoted(namespace));
    }
    for part in parts {
        out.append(part.writer);
    }
    for (resource, field, reason) in std::mem::take(&mut out.ignores) {
        out.line("");
        out.line("[[ignore]]");
        out.key("resource", quoted(&resource));
        out.key("fields", quoted_list(&[field]));
        out.key("reason", quoted(&reason));
    }
    Ok(out)
}
