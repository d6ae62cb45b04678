//! `pipectl init [--template NAME] [DIR]` and `pipectl schema`: start a stack from one of the
//! repository's `templates/` (compiled into the binary, so an installed pipectl has them), with
//! the stack file's JSON Schema beside it for editors.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

/// The line taplo and Even Better TOML read to find the schema of a TOML file.
const SCHEMA_LINE: &str = "#:schema ./stack.schema.json\n";
const SCHEMA_FILE: &str = "stack.schema.json";

/// One starting point: its files, relative to the directory `init` writes into.
pub struct Template {
    pub name: &'static str,
    pub about: &'static str,
    pub files: &'static [(&'static str, &'static str)],
}

pub const TEMPLATES: &[Template] = &[
    Template {
        name: "seed-pipeline",
        about: "the seed article's whole pipeline: brokers on EKS, Lambda consumer with its Kafka trigger, SageMaker scoring, DynamoDB tables",
        files: &[(
            "kafka-logs.toml",
            include_str!("../../stacks/kafka-logs.toml"),
        )],
    },
    Template {
        name: "dynamodb-only",
        about: "DynamoDB tables only: billing modes, capacity and a global secondary index",
        files: &[(
            "stack.toml",
            include_str!("../../templates/dynamodb-only/stack.toml"),
        )],
    },
    Template {
        name: "lambda-consumers",
        about: "Lambda consumers only: limits and a self-managed Kafka trigger in a VPC with SCRAM",
        files: &[(
            "stack.toml",
            include_str!("../../templates/lambda-consumers/stack.toml"),
        )],
    },
    Template {
        name: "environments",
        about: "one base shared by dev and prod (`extends`), with an ignore rule",
        files: &[
            (
                "base.toml",
                include_str!("../../stacks/environments/base.toml"),
            ),
            ("dev.toml", include_str!("../../stacks/environments/dev.toml")),
            (
                "prod.toml",
                include_str!("../../stacks/environments/prod.toml"),
            ),
        ],
    },
    Template {
        name: "ci-github",
        about: "GitHub Actions: the release binary (SHA-256 checked), plan with a sticky PR comment, apply of the reviewed plan on merge (a destructive plan needs its own approval), hourly drift that opens an issue",
        files: &[
            (
                ".github/workflows/pipectl.yml",
                include_str!("../../templates/ci/github/pipectl.yml"),
            ),
            (
                ".github/workflows/pipectl-drift.yml",
                include_str!("../../templates/ci/github/pipectl-drift.yml"),
            ),
        ],
    },
    Template {
        name: "ci-gitlab",
        about: "GitLab CI: the release binary (SHA-256 checked), plan with a sticky MR note, manual apply of the reviewed plan (ALLOW_DESTROY=yes for a destructive one), scheduled drift",
        files: &[(
            ".gitlab-ci.yml",
            include_str!("../../templates/ci/gitlab/.gitlab-ci.yml"),
        )],
    },
];

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The template to start from (`pipectl init --list` lists them).
    #[arg(long, short, default_value = "seed-pipeline", value_name = "NAME", value_parser = TemplateNames)]
    pub template: String,
    /// List the templates and exit.
    #[arg(long)]
    pub list: bool,
    /// Where to write (created if missing; existing files are never overwritten).
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// `--template`'s values, offered to shell completion and listed in `--help`. Any name is
/// parsed: `run` answers one that is not a template with the list of those that are.
#[derive(Clone)]
struct TemplateNames;

impl clap::builder::TypedValueParser for TemplateNames {
    type Value = String;

    fn parse_ref(
        &self,
        _command: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        Ok(value.to_string_lossy().into_owned())
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(TEMPLATES.iter().map(|template| {
            clap::builder::PossibleValue::new(template.name).help(template.about)
        })))
    }
}

/// The files a template writes: its own, each stack file starting with the `#:schema` line,
/// and the schema itself when it has stack files.
pub fn files_of(template: &Template) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = template
        .files
        .iter()
        .map(|(path, text)| {
            let text = if path.ends_with(".toml") {
                format!("{SCHEMA_LINE}{text}")
            } else {
                text.to_string()
            };
            (path.to_string(), text)
        })
        .collect();
    if template
        .files
        .iter()
        .any(|(path, _)| path.ends_with(".toml"))
    {
        files.push((
            SCHEMA_FILE.to_string(),
            crate::engine::registry::stack_schema(),
        ));
    }
    files
}

pub fn run(args: &InitArgs) -> Result<u8> {
    if args.list {
        for template in TEMPLATES {
            println!("{:18} {}", template.name, template.about);
        }
        return Ok(0);
    }
    let Some(template) = TEMPLATES.iter().find(|t| t.name == args.template) else {
        let names: Vec<&str> = TEMPLATES.iter().map(|t| t.name).collect();
        bail!(
            "there is no template {:?}; the templates are: {}",
            args.template,
            names.join(", ")
        );
    };
    let files = files_of(template);
    // Check every file first: init writes all of them or none.
    let existing: Vec<String> = files
        .iter()
        .map(|(path, _)| args.dir.join(path))
        .filter(|path| path.exists())
        .map(|path| path.display().to_string())
        .collect();
    if !existing.is_empty() {
        bail!(
            "init does not overwrite files, and these exist: {}; choose another directory",
            existing.join(", ")
        );
    }
    for (path, text) in &files {
        super::write_new_file(&args.dir.join(path), text)?;
        println!("wrote {}", args.dir.join(path).display());
    }
    println!(
        "Started from template {}. Next: edit the files, then `pipectl validate` and `pipectl plan` them.",
        template.name
    );
    Ok(0)
}

/// `pipectl schema`.
pub fn schema() -> Result<u8> {
    print!("{}", crate::engine::registry::stack_schema());
    Ok(0)
}
