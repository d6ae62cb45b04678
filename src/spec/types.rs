//! The stack spec as it is written in TOML: one struct per table, every key documented in
//! `docs/spec.md`. Values that validation may complain about are `Spanned`, so an error can
//! point at the exact line and column that set them.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::section::{Section, Sections};

/// A stack file: its own keys (`[stack]`, `[[ignore]]`, `extends`), and the sections of the
/// kinds and connections it uses, looked up by their types.
#[derive(Debug, Clone)]
pub struct StackSpec {
    pub stack: StackSection,
    pub ignore: Vec<IgnoreRule>,
    pub extends: Option<Spanned<String>>,
    pub sections: Sections,
}

/// The keys of the stack file that belong to no kind. Every section except `[stack]` is
/// optional: a stack manages only what it names.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct Header {
    pub stack: StackSection,
    /// Fields another controller or team owns: neither compared nor written.
    #[serde(default)]
    pub ignore: Vec<IgnoreRule>,
    /// A base stack file this one overrides (resolved by `spec::load`, relative to this file).
    #[schemars(with = "Option<String>")]
    pub extends: Option<Spanned<String>>,
}

/// `[[ignore]]`: fields of matching resources that pipectl leaves alone in plan, apply and
/// drift (e.g. a capacity an autoscaler owns).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IgnoreRule {
    /// A resource id as plans show it (`lambda.function.consumer`), or a prefix ending in `*`
    /// (`eks.volume.kafka/*`).
    #[schemars(with = "String")]
    pub resource: Spanned<String>,
    #[schemars(with = "Vec<String>")]
    pub fields: Vec<Spanned<String>>,
    /// Why, shown with the ignored fields in verbose output.
    pub reason: Option<String>,
}

impl IgnoreRule {
    pub fn matches(&self, resource_id: &str) -> bool {
        let pattern = self.resource.get_ref();
        match pattern.strip_suffix('*') {
            Some(prefix) => resource_id.starts_with(prefix),
            None => resource_id == pattern,
        }
    }
}

impl StackSpec {
    /// A kind's `[a.b]` table, if the file has it.
    pub fn section<S: Section>(&self) -> Option<&S> {
        self.sections.section::<S>()
    }

    /// Whether the file has the table at `path` that holds kinds' sections (`[sagemaker]`),
    /// even empty.
    pub fn has_table(&self, path: &[&str]) -> bool {
        self.sections.has_table(path)
    }

    /// A kind's `[[a.b]]` entries, none if the file has none.
    pub fn entries<S: Section>(&self) -> &[S] {
        self.sections.entries::<S>()
    }

    /// The ignored fields of one resource, with the reason of the rule that names each.
    pub fn ignored_fields(&self, resource_id: &str) -> Vec<(String, Option<String>)> {
        self.ignore
            .iter()
            .filter(|rule| rule.matches(resource_id))
            .flat_map(|rule| {
                rule.fields
                    .iter()
                    .map(|f| (f.get_ref().clone(), rule.reason.clone()))
            })
            .collect()
    }
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackSection {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// AWS region; `--region` overrides it, and without either the standard chain decides.
    #[schemars(with = "Option<String>")]
    pub region: Option<Spanned<String>>,
    /// The AWS account the stack lives in: plan, apply and drift refuse to run with
    /// credentials of another account (as `--expect-account` does).
    #[schemars(with = "Option<String>")]
    pub account_id: Option<Spanned<String>>,
    /// The IAM role to read this stack's account with in a fleet's drift (assumed with the
    /// runner's credentials); `drift --role-arn-template` builds it from `account_id` otherwise.
    #[schemars(with = "Option<String>")]
    pub role_arn: Option<Spanned<String>>,
    /// Tags put on resources pipectl creates.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}
