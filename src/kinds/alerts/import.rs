//! `pipectl import --prometheus-rule NAMESPACE/NAME`: a PrometheusRule's alerting rules,
//! written as `[[alerts]]`.

use anyhow::{anyhow, Result};

use super::{read_for_import, ImportedRules};
use crate::kinds::kind::{ImportContext, ImportedPart};
use crate::spec::write::{quoted, ImportFlag, StackWriter};

pub const FLAGS: &[ImportFlag] = &[ImportFlag {
    long: "prometheus-rule",
    value_name: "NAMESPACE/NAME",
    help: "A PrometheusRule whose alerting rules become `[[alerts]]` (reached like --statefulset)",
    repeatable: false,
    selects: true,
}];

pub async fn import(context: &ImportContext<'_>) -> Result<Option<ImportedPart>> {
    let Some(given) = context.values.one("prometheus-rule") else {
        return Ok(None);
    };
    let (cluster, namespace, name) = context
        .cluster_for(
            given,
            "--prometheus-rule takes NAMESPACE/NAME, e.g. kafka/kafka-alerts",
        )
        .await?;
    let imported = read_for_import(&cluster, namespace, name)
        .await?
        .ok_or_else(|| anyhow!("PrometheusRule {given} does not exist"))?;
    let mut out = StackWriter::default();
    alert_rules(&mut out, &imported, namespace, name, context.stack_name);
    Ok(Some(ImportedPart {
        writer: out,
        namespace: Some(namespace.to_string()),
    }))
}

fn alert_rules(
    out: &mut StackWriter,
    imported: &ImportedRules,
    namespace: &str,
    name: &str,
    stack: &str,
) {
    let source = format!("PrometheusRule {namespace}/{name}");
    let own = format!("pipectl-{stack}-alerts");
    if name != own {
        out.line("");
        out.review(
            &source,
            &format!("pipectl writes these rules to PrometheusRule {}/{own}: after the first apply, delete {source}, or every alert fires twice", namespace),
        );
    }
    if !imported.recording.is_empty() {
        out.flag(format!(
            "{source}: recording rules are not alerts and are left out: {}",
            imported.recording.join(", ")
        ));
    }
    if !imported.rounded.is_empty() {
        out.flag(format!(
            "{source}: `for` is kept in whole minutes, rounded up: {}",
            imported.rounded.join(", ")
        ));
    }
    for rule in &imported.rules {
        out.line("");
        out.line(&format!("# From {source}."));
        out.line("[[alerts]]");
        out.key("name", quoted(&rule.alert));
        out.key("expr", quoted(&rule.expr));
        out.key("for_minutes", rule.minutes);
        out.key("severity", quoted(&rule.severity));
        out.key("summary", quoted(&rule.summary));
    }
}
