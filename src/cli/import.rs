//! `pipectl import`: write a stack file from live state, which `plan` then shows as no changes.
//! The flags that name live objects are the kinds' (`Kind::import_flags`, through the registry).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use super::GlobalArgs;
use crate::engine::registry;
use crate::kinds::kind::ImportContext;
use crate::providers::Aws;
use crate::spec::write::ImportValues;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// `[stack] name` of the file. Default: --name-prefix without a trailing `-`, else "imported".
    #[arg(long, value_name = "NAME")]
    pub stack_name: Option<String>,
    #[command(flatten)]
    pub kinds: KindFlags,
    /// The EKS cluster to reach the StatefulSet in (pipectl signs its own token), written as
    /// `[eks] cluster`; or use --kube-context.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Also import every table, function and endpoint carrying this tag (repeatable: all of
    /// them). One tag read per candidate.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Also import every table, function and endpoint whose name starts with this.
    #[arg(long, value_name = "PREFIX")]
    pub name_prefix: Option<String>,
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

/// The kinds' import flags (`--table`, `--statefulset`, ...), declared by each kind.
#[derive(Debug, Clone, Default)]
pub struct KindFlags(pub ImportValues);

impl FromArgMatches for KindFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut values = ImportValues::default();
        for flag in registry::import_flags() {
            let given = matches
                .get_many::<String>(flag.long)
                .map(|v| v.cloned().collect())
                .unwrap_or_default();
            values.insert(flag.long, given);
        }
        Ok(KindFlags(values))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for KindFlags {
    fn augment_args(command: Command) -> Command {
        registry::import_flags().fold(command, |command, flag| {
            command.arg(
                Arg::new(flag.long)
                    .long(flag.long)
                    .value_name(flag.value_name)
                    .help(flag.help)
                    .action(if flag.repeatable {
                        ArgAction::Append
                    } else {
                        ArgAction::Set
                    }),
            )
        })
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

impl ImportArgs {
    fn stack_name(&self) -> String {
        self.stack_name.clone().unwrap_or_else(|| {
            self.name_prefix
                .as_deref()
                .map(|p| p.trim_end_matches(['-', '_']).to_string())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "imported".to_string())
        })
    }

    fn kafka_admin(&self, global: &GlobalArgs) -> Option<crate::providers::kafka::AdminSettings> {
        global
            .kafka_bootstrap
            .clone()
            .map(|servers| crate::providers::kafka::AdminSettings {
                servers,
                security_protocol: self.kafka_security_protocol.clone(),
                sasl_mechanism: self.kafka_sasl_mechanism.clone(),
                sasl_secret_arn: self
                    .kafka_sasl_secret_arn
                    .clone()
                    .or_else(|| global.kafka_admin_secret.clone()),
            })
    }

    /// Whether no flag names or discovers anything to import.
    fn names_nothing(&self) -> bool {
        let named = registry::import_flags()
            .filter(|flag| flag.selects)
            .any(|flag| !self.kinds.0.all(flag.long).is_empty());
        !named && self.tags.is_empty() && self.name_prefix.is_none()
    }
}

pub async fn run(global: &GlobalArgs, args: &ImportArgs) -> Result<u8> {
    if args.names_nothing() {
        let flags: Vec<String> = registry::import_flags()
            .filter(|flag| flag.selects)
            .map(|flag| format!("--{}", flag.long))
            .collect();
        bail!(
            "nothing to import: name objects with {}, or find them with --tag KEY=VALUE or --name-prefix PREFIX",
            flags.join(", ")
        );
    }
    if let Some(out) = &args.out {
        refuse_existing(out)?;
    }
    let aws = Aws::connect(&global.runner_connection(global.region.clone())).await?;
    let identity = aws.caller().await?;
    eprintln!(
        "Importing from AWS account {} as {}, region {}",
        identity.account, identity.arn, aws.region
    );
    if let Some(expected) = &global.expect_account {
        crate::providers::account::check_account(&identity, expected, "--expect-account")?;
    }
    let stack_name = args.stack_name();
    let context = ImportContext {
        aws: &aws,
        stack_name: &stack_name,
        values: &args.kinds.0,
        tags: &args.tags,
        name_prefix: args.name_prefix.as_deref(),
        cluster: args.cluster.clone(),
        kube_context: global.kube_context.clone(),
        kafka_admin: args.kafka_admin(global),
    };
    let written = crate::engine::import::import(&aws, &context).await?;
    // What import writes must be a valid stack file: a failure here is pipectl's bug.
    crate::spec::parse(
        Path::new("<imported>"),
        &written.text,
        &global.load_options().rules,
    )
    .map_err(|error| {
        anyhow::anyhow!("the imported stack file is not valid (a bug in pipectl import):\n{error}")
    })?;
    match &args.out {
        Some(out) => super::write_new_file(out, &written.text)?,
        None => std::io::stdout().write_all(written.text.as_bytes())?,
    }
    if !written.flagged.is_empty() {
        eprintln!(
            "\nReview before the first apply ({} setting{} pipectl would not choose, kept as they are and marked # REVIEW in the file):",
            written.flagged.len(),
            if written.flagged.len() == 1 { "" } else { "s" }
        );
        for flag in &written.flagged {
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

/// `KEY=VALUE` of `--tag`.
pub fn parse_tag(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
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
