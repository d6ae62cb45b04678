//! `pipectl import`: write a stack file from live state, which `plan` then shows as no changes.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;

use super::GlobalArgs;
use crate::import::{self, render, ImportRequest};
use crate::providers::{Aws, Connection};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// `[stack] name` of the file. Default: --name-prefix without a trailing `-`, else "imported".
    #[arg(long, value_name = "NAME")]
    pub stack_name: Option<String>,
    /// A DynamoDB table (repeatable).
    #[arg(long = "table", value_name = "NAME")]
    pub tables: Vec<String>,
    /// A Lambda function, with its Kafka event source mapping (repeatable).
    #[arg(long = "function", value_name = "NAME")]
    pub functions: Vec<String>,
    /// A SageMaker endpoint (every variant) or one variant (repeatable).
    #[arg(long = "endpoint", value_name = "NAME[/VARIANT]")]
    pub endpoints: Vec<String>,
    /// The Kafka broker StatefulSet, with the HPA that scales it and its volumes' StorageClass.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub statefulset: Option<String>,
    /// The brokers' StorageClass, when not the one their volume claim template names.
    #[arg(long, value_name = "NAME")]
    pub storage_class: Option<String>,
    /// The EKS cluster to reach the StatefulSet in (pipectl signs its own token), written as
    /// `[eks] cluster`; or use --kube-context.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Also import every table, function and endpoint carrying this tag (repeatable: all of
    /// them). One tag read per candidate.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = import::parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Also import every table, function and endpoint whose name starts with this.
    #[arg(long, value_name = "PREFIX")]
    pub name_prefix: Option<String>,
    /// A PrometheusRule whose alerting rules become `[[alerts]]` (reached like --statefulset).
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub prometheus_rule: Option<String>,
    /// A Kafka topic, read through the brokers' admin API at --kafka-bootstrap (repeatable).
    #[arg(long = "topic", value_name = "NAME")]
    pub topics: Vec<String>,
    /// The brokers' listener protocol for --topic: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.
    #[arg(long, value_name = "PROTOCOL", default_value = "SASL_SSL")]
    pub kafka_security_protocol: String,
    /// SCRAM-SHA-512 or SCRAM-SHA-256, for the SASL protocols.
    #[arg(long, value_name = "MECHANISM", default_value = "SCRAM-SHA-512")]
    pub kafka_sasl_mechanism: String,
    /// The Secrets Manager secret with the admin user's SCRAM credentials, for the SASL protocols.
    #[arg(long, value_name = "ARN")]
    pub kafka_sasl_secret_arn: Option<String>,
    /// Write the stack file here instead of stdout (an existing file is not overwritten).
    #[arg(long, value_name = "STACK.toml")]
    pub out: Option<PathBuf>,
}

impl ImportArgs {
    fn request(&self, global: &GlobalArgs) -> ImportRequest {
        let stack_name = self.stack_name.clone().unwrap_or_else(|| {
            self.name_prefix
                .as_deref()
                .map(|p| p.trim_end_matches(['-', '_']).to_string())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "imported".to_string())
        });
        ImportRequest {
            stack_name,
            tables: self.tables.clone(),
            functions: self.functions.clone(),
            endpoints: self.endpoints.clone(),
            statefulset: self.statefulset.clone(),
            storage_class: self.storage_class.clone(),
            cluster: self.cluster.clone(),
            kube_context: global.kube_context.clone(),
            tags: self.tags.clone(),
            name_prefix: self.name_prefix.clone(),
            topics: self.topics.clone(),
            prometheus_rule: self.prometheus_rule.clone(),
            kafka_admin: global.kafka_bootstrap.clone().map(|servers| {
                crate::providers::kafka::AdminSettings {
                    servers,
                    security_protocol: self.kafka_security_protocol.clone(),
                    sasl_mechanism: self.kafka_sasl_mechanism.clone(),
                    sasl_secret_arn: self
                        .kafka_sasl_secret_arn
                        .clone()
                        .or_else(|| global.kafka_admin_secret.clone()),
                }
            }),
        }
    }

    fn names_nothing(&self) -> bool {
        self.tables.is_empty()
            && self.functions.is_empty()
            && self.endpoints.is_empty()
            && self.statefulset.is_none()
            && self.topics.is_empty()
            && self.prometheus_rule.is_none()
            && self.tags.is_empty()
            && self.name_prefix.is_none()
    }
}

pub async fn run(global: &GlobalArgs, args: &ImportArgs) -> Result<u8> {
    if args.names_nothing() {
        bail!("nothing to import: name objects with --table, --function, --endpoint, --statefulset, --topic, --prometheus-rule, or find them with --tag KEY=VALUE or --name-prefix PREFIX");
    }
    if let Some(out) = &args.out {
        refuse_existing(out)?;
    }
    let aws = Aws::connect(&Connection {
        region: global.region.clone(),
        profile: global.profile.clone(),
        wait: Default::default(),
        api_rate_share: global.api_rate_share,
    })
    .await?;
    let identity = aws.caller().await?;
    eprintln!(
        "Importing from AWS account {} as {}, region {}",
        identity.account, identity.arn, aws.region
    );
    if let Some(expected) = &global.expect_account {
        crate::providers::account::check_account(&identity, expected, "--expect-account")?;
    }
    let imported = import::read(&aws, &args.request(global)).await?;
    let rendered = render::render(&imported);
    // What import writes must be a valid stack file: a failure here is pipectl's bug.
    crate::spec::parse(
        Path::new("<imported>"),
        &rendered.text,
        &global.load_options().rules,
    )
    .map_err(|error| {
        anyhow::anyhow!("the imported stack file is not valid (a bug in pipectl import):\n{error}")
    })?;
    match &args.out {
        Some(out) => super::write_new_file(out, &rendered.text)?,
        None => std::io::stdout().write_all(rendered.text.as_bytes())?,
    }
    if !rendered.flagged.is_empty() {
        eprintln!(
            "\nReview before the first apply ({} setting{} pipectl would not choose, kept as they are and marked # REVIEW in the file):",
            rendered.flagged.len(),
            if rendered.flagged.len() == 1 { "" } else { "s" }
        );
        for flag in &rendered.flagged {
            eprintln!("  - {flag}");
        }
    }
    if let Some(out) = &args.out {
        eprintln!(
            "\nWrote {}. `pipectl plan {}` should show no changes.",
            out.display(),
            out.display()
        );
    }
    Ok(0)
}

fn refuse_existing(path: &Path) -> Result<()> {
    if path.exists() {
        bail!(
            "{} exists; import does not overwrite files: choose another --out, or remove it",
            path.display()
        );
    }
    Ok(())
}
