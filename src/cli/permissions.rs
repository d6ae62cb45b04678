//! `pipectl permissions`: exactly what a command needs to be allowed to do for a stack, as an
//! IAM policy (JSON, Terraform, CloudFormation), Kubernetes RBAC with the EKS access entry, or
//! Kafka ACLs, from the kinds' declarations. Offline unless the account must be asked for.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use crate::engine::permissions::command_permissions;
use crate::plan::document::PlanDocument;
use crate::plan::permissions::{partition_of, Command, Permissions, Scope};
use crate::render::permissions as render;
use crate::spec::LoadedStack;

#[derive(Debug, Args)]
pub struct PermissionsArgs {
    #[command(flatten)]
    pub stack: super::StackFileArg,
    /// The command to allow.
    #[arg(long = "for", value_enum, value_name = "COMMAND")]
    pub command: ForCommand,
    /// Narrow apply's writes to what this saved plan (`plan --out`) does.
    #[arg(long, value_name = "PLAN.json")]
    pub plan: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = PermissionsFormat::IamJson)]
    pub format: PermissionsFormat,
    /// The account ARNs are built in (default: `[stack] account_id`, else the caller's,
    /// asked with STS GetCallerIdentity).
    #[arg(long, value_name = "ACCOUNT_ID", value_parser = super::account_id)]
    pub account_id: Option<String>,
    /// The IAM principal (role) the EKS access entry maps (k8s-rbac).
    #[arg(long, value_name = "ARN")]
    pub principal_arn: Option<String>,
    /// Also allow `--check-permissions` (iam:SimulatePrincipalPolicy on the principal:
    /// --principal-arn, else the account's users and roles).
    #[arg(long)]
    pub check_permissions: bool,
    /// The Kubernetes group the access entry maps the principal to and the bindings name.
    #[arg(long, default_value = "pipectl", value_name = "GROUP")]
    pub kube_group: String,
    /// The Kafka principal of `[kafka.admin]`'s SCRAM user (kafka-acls).
    #[arg(long, default_value = "User:pipectl", value_name = "PRINCIPAL")]
    pub kafka_principal: String,
    /// The Strimzi Kafka cluster the `KafkaUser` belongs to (its `strimzi.io/cluster` label).
    #[arg(long, default_value = "kafka", value_name = "NAME")]
    pub strimzi_cluster: String,
    #[command(flatten)]
    pub lock: super::LockArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ForCommand {
    Plan,
    Drift,
    Apply,
    Import,
}

impl From<ForCommand> for Command {
    fn from(value: ForCommand) -> Self {
        match value {
            ForCommand::Plan => Command::Plan,
            ForCommand::Drift => Command::Drift,
            ForCommand::Apply => Command::Apply,
            ForCommand::Import => Command::Import,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PermissionsFormat {
    /// An IAM policy document.
    IamJson,
    /// Terraform's `aws_iam_policy_document` data source.
    Terraform,
    /// A CloudFormation template with an `AWS::IAM::ManagedPolicy`.
    Cloudformation,
    /// Role/ClusterRole and bindings, and the EKS access entry.
    K8sRbac,
    /// `kafka-acls.sh` commands and a Strimzi `KafkaUser`.
    KafkaAcls,
}

pub async fn run(global: &super::GlobalArgs, args: &PermissionsArgs) -> Result<u8> {
    let stack = crate::spec::load(args.stack.path(), &global.load_options())
        .map_err(|e| super::StackFailure(e.to_string()))?;
    let command = Command::from(args.command);
    if args.plan.is_some() && command != Command::Apply {
        bail!("--plan narrows what apply writes: use it with --for apply");
    }
    let saved = match &args.plan {
        Some(path) => {
            let document = PlanDocument::read(path)?;
            if document.stack != stack.name() {
                bail!(
                    "{} is a plan of stack {:?}, not of {:?} ({})",
                    path.display(),
                    document.stack,
                    stack.name(),
                    stack.path.display()
                );
            }
            Some(document.as_plan())
        }
        None => None,
    };
    let scope = scope(global, &stack, args).await?;
    let mut needed = command_permissions(
        &stack.spec,
        &scope,
        &args.lock.lock_table,
        command,
        saved.as_ref(),
    );
    if args.check_permissions {
        let principals = match &args.principal_arn {
            Some(arn) => vec![arn.clone()],
            None => ["user/*", "role/*"]
                .iter()
                .map(|p| format!("arn:{}:iam::{}:{p}", scope.partition, scope.account))
                .collect(),
        };
        for principal in principals {
            needed.aws(
                "iam:SimulatePrincipalPolicy",
                crate::plan::permissions::Resource::Arn(principal),
                crate::plan::permissions::EVERY,
            );
        }
    }
    let title = format!(
        "pipectl {} of stack {} (account {}, region {})",
        command.name(),
        crate::escape::printable(stack.name()),
        scope.account,
        scope.region
    );
    print!("{}", rendered(&needed, &stack, &scope, args, &title)?);
    Ok(0)
}

/// The account, region and partition of the ARNs.
async fn scope(
    global: &super::GlobalArgs,
    stack: &LoadedStack,
    args: &PermissionsArgs,
) -> Result<Scope> {
    let Some(region) = super::stack_region(global, stack)? else {
        bail!(
            "{}: the stack names no region; give --region (the ARNs of a policy name their region)",
            stack.path.display()
        );
    };
    let account = match (&args.account_id, &stack.spec.stack.account_id) {
        (Some(given), _) => given.clone(),
        (None, Some(pinned)) => pinned.get_ref().clone(),
        (None, None) => {
            let connection = global.runner_connection(Some(region.clone()));
            let aws = crate::providers::Aws::connect_unchecked(&connection).await?;
            aws.caller().await?.account
        }
    };
    Ok(Scope {
        partition: partition_of(&region).to_string(),
        region,
        account,
    })
}

fn rendered(
    needed: &Permissions,
    stack: &LoadedStack,
    scope: &Scope,
    args: &PermissionsArgs,
    title: &str,
) -> Result<String> {
    let (empty, what) = match args.format {
        PermissionsFormat::IamJson
        | PermissionsFormat::Terraform
        | PermissionsFormat::Cloudformation => (needed.aws.is_empty(), "IAM permission"),
        PermissionsFormat::K8sRbac => (needed.kube.is_empty(), "Kubernetes permission"),
        PermissionsFormat::KafkaAcls => (needed.kafka.is_empty(), "Kafka ACL"),
    };
    if empty {
        eprintln!("{title}: no {what} is needed (the stack file declares nothing that calls it)");
        return Ok(String::new());
    }
    let name = format!(
        "pipectl-{}-{}",
        stack.name(),
        Command::from(args.command).name()
    );
    Ok(match args.format {
        PermissionsFormat::IamJson
        | PermissionsFormat::Terraform
        | PermissionsFormat::Cloudformation => rendered_iam(needed, args.format, &name, title),
        PermissionsFormat::K8sRbac => rendered_rbac(needed, stack, scope, args, &name),
        PermissionsFormat::KafkaAcls => rendered_kafka(needed, stack, args, title),
    })
}

/// The IAM policy, as JSON, Terraform or CloudFormation.
fn rendered_iam(
    needed: &Permissions,
    format: PermissionsFormat,
    name: &str,
    title: &str,
) -> String {
    print_notes(&Permissions {
        kube: vec![],
        kafka: vec![],
        ..needed.clone()
    });
    let statements = crate::plan::permissions::statements(&needed.aws);
    match format {
        PermissionsFormat::IamJson => crate::render::json(&render::iam_policy(&statements)),
        PermissionsFormat::Terraform => render::terraform(&statements, name, title),
        _ => crate::render::json(&render::cloudformation(&statements, title, "PipectlPolicy")),
    }
}

/// The RBAC objects, after the access entry's commands as comments.
fn rendered_rbac(
    needed: &Permissions,
    stack: &LoadedStack,
    scope: &Scope,
    args: &PermissionsArgs,
    name: &str,
) -> String {
    let cluster = stack
        .spec
        .section::<crate::providers::eks::EksSection>()
        .and_then(|eks| eks.cluster.as_ref())
        .map(|c| c.get_ref().as_str());
    let principal = args.principal_arn.clone().unwrap_or_else(|| {
        format!(
            "arn:{}:iam::{}:role/pipectl",
            scope.partition, scope.account
        )
    });
    let subject = render::KubeSubject {
        group: &args.kube_group,
        object_name: name,
        cluster,
        principal_arn: &principal,
    };
    print_notes(&Permissions {
        aws: vec![],
        kafka: vec![],
        ..needed.clone()
    });
    let objects = render::rbac_objects(&needed.kube, &subject);
    format!(
        "{}{}",
        comment_lines(&render::access_entry_commands(&subject)),
        render::yaml_documents(&objects)
    )
}

/// The Kafka ACLs as kafka-acls commands and as a Strimzi KafkaUser.
fn rendered_kafka(
    needed: &Permissions,
    stack: &LoadedStack,
    args: &PermissionsArgs,
    title: &str,
) -> String {
    let bootstrap = stack
        .spec
        .section::<crate::providers::kafka::KafkaAdmin>()
        .and_then(|admin| admin.bootstrap_servers.as_ref())
        .and_then(|servers| servers.first())
        .map(|s| s.get_ref().clone())
        .unwrap_or_else(|| "BOOTSTRAP:9092".to_string());
    print_notes(&Permissions {
        aws: vec![],
        kube: vec![],
        ..needed.clone()
    });
    let user = args
        .kafka_principal
        .strip_prefix("User:")
        .unwrap_or(&args.kafka_principal);
    format!(
        "# {}\n{}# The same ACLs as a Strimzi KafkaUser:\n{}",
        crate::escape::printable(title),
        render::kafka_acl_commands(&needed.kafka, &args.kafka_principal, &bootstrap),
        render::yaml_documents(&[render::strimzi_user(
            &needed.kafka,
            user,
            &args.strimzi_cluster
        )])
    )
}

/// Shell lines as YAML comments, so the output stays one file `kubectl apply -f` reads.
fn comment_lines(text: &str) -> String {
    text.lines()
        .map(|line| {
            if line.starts_with('#') {
                format!("{line}\n")
            } else {
                format!("#   {line}\n")
            }
        })
        .collect()
}

/// Says on stderr which of these calls are made only in some cases.
fn print_notes(part: &Permissions) {
    for note in render::conditional_notes(part) {
        eprintln!("note: {}", crate::escape::printable(&note));
    }
}
