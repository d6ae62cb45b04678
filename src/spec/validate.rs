//! Offline checks of a parsed stack: ranges, names and contradictions that AWS or Kubernetes
//! would reject (or, worse, accept and regret). Runs before any network call.

use std::collections::BTreeMap;

use toml::Spanned;

use super::diagnostic::Diagnostic;
use super::limits::Limit;
use super::types::*;

/// A resource id prefix `[[ignore]]` may name, and the fields it may leave alone.
pub type Ignorable = (&'static str, &'static [&'static str]);

/// Collects every problem instead of stopping at the first, so one run shows them all.
#[derive(Default)]
pub struct Checker {
    found: Vec<Diagnostic>,
}

impl Checker {
    pub fn error(
        &mut self,
        span: std::ops::Range<usize>,
        field: &str,
        message: String,
        help: impl Into<String>,
    ) {
        self.found
            .push(Diagnostic::new(span, field, message, help.into()));
    }

    pub fn in_range(&mut self, value: &Spanned<i64>, limit: &Limit, field: &str) {
        let v = *value.get_ref();
        if !limit.contains(v) {
            let bounds = if limit.max == i64::MAX {
                format!("at least {}", limit.min)
            } else {
                format!("between {} and {}", limit.min, limit.max)
            };
            self.error(
                value.span(),
                field,
                format!("{field} is {v}, but it must be {bounds} {}", limit.unit),
                format!(
                    "set a value {bounds} ({} in AWS: {})",
                    limit.aws_name, limit.source
                ),
            );
        }
    }

    pub fn optional_in_range(&mut self, value: &Option<Spanned<i64>>, limit: &Limit, field: &str) {
        if let Some(value) = value {
            self.in_range(value, limit, field);
        }
    }

    pub fn name(
        &mut self,
        value: &Spanned<String>,
        field: &str,
        what: &str,
        max_len: usize,
        allowed: fn(char) -> bool,
        allowed_text: &str,
    ) {
        let text = value.get_ref();
        if text.is_empty() || text.chars().count() > max_len || !text.chars().all(allowed) {
            self.error(
                value.span(),
                field,
                format!("{field} {text:?} is not a valid {what}"),
                format!("use 1 to {max_len} characters: {allowed_text}"),
            );
        }
    }

    /// A name checked by a rule over the whole string (start and end characters matter).
    pub fn name_rule(
        &mut self,
        value: &Spanned<String>,
        field: &str,
        what: &str,
        valid: fn(&str) -> bool,
        rule: &str,
    ) {
        let text = value.get_ref();
        if !valid(text) {
            self.error(
                value.span(),
                field,
                format!("{field} {text:?} is not a valid {what}"),
                format!("use {rule}"),
            );
        }
    }

    pub fn unique<'a>(
        &mut self,
        names: impl Iterator<Item = (&'a Spanned<String>, String)>,
        what: &str,
    ) {
        self.unique_by(
            names.map(|(name, field)| (name.get_ref().clone(), name.span(), field)),
            what,
        );
    }

    /// Reports every identity (`key`) declared more than once, at the later declaration,
    /// naming the entry that declared it first.
    pub fn unique_by(
        &mut self,
        entries: impl Iterator<Item = (String, std::ops::Range<usize>, String)>,
        what: &str,
    ) {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (key, span, field) in entries {
            match seen.get(&key) {
                Some(first) => {
                    let first = first.clone();
                    self.error(
                        span,
                        &field,
                        format!("{what} {key:?} is declared twice (first at {first})"),
                        format!("each {what} may appear once; merge the two entries"),
                    );
                }
                None => {
                    seen.insert(key, field);
                }
            }
        }
    }
}

/// An AWS account id: exactly 12 digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The account of an IAM role ARN (`arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`), if it is one.
pub fn role_account(arn: &str) -> Option<&str> {
    let rest = ["arn:aws:iam::", "arn:aws-cn:iam::", "arn:aws-us-gov:iam::"]
        .iter()
        .find_map(|prefix| arn.strip_prefix(prefix))?;
    let (account, role) = rest.split_once(':')?;
    let name = role.strip_prefix("role/")?;
    let valid_name = !name.is_empty()
        && name.len() <= 512
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_/".contains(c));
    (is_account_id(account) && valid_name).then_some(account)
}

/// An AWS region code: lowercase letters in dash-separated parts ending in a number
/// (`us-east-1`, `us-gov-west-1`, `cn-north-1`, `eu-central-2`). Anything else would end up
/// in endpoint host names.
pub fn is_region_name(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    parts.len() >= 3
        && region.len() <= 32
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
        && words
            .iter()
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
}

/// A stack name: it becomes a Kubernetes label value (apimachinery `IsValidLabelValue`: at most
/// 63 characters, alphanumeric at both ends) and a part of AWS names and tags.
pub fn stack_name(name: &str) -> bool {
    bounded_name(name, 63, true, lambda_name_char)
}

/// Kubernetes object names (DNS-1123 subdomain): StatefulSet, HPA, StorageClass.
pub fn kubernetes_object_name(name: &str) -> bool {
    dns_name(name, 253, true)
}

/// Kubernetes namespaces (DNS-1123 label).
pub fn kubernetes_namespace(name: &str) -> bool {
    dns_name(name, 63, false)
}

/// Kubernetes label values (apimachinery `IsValidLabelValue`): empty, or at most 63 of
/// `[-_.A-Za-z0-9]`, a letter or digit at both ends.
pub fn kubernetes_label_value(value: &str) -> bool {
    value.is_empty() || bounded_name(value, 63, true, label_char)
}

/// Kubernetes label keys (apimachinery `IsQualifiedName`): an optional DNS-1123 subdomain
/// prefix and '/', then a name as a label value's, not empty.
pub fn kubernetes_label_key(key: &str) -> bool {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    prefix.is_none_or(|p| dns_name(p, 253, true)) && bounded_name(name, 63, true, label_char)
}

fn label_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'
}

pub fn dns_name(name: &str, max_len: usize, dots: bool) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    name.len() <= max_len
        && edge(name.chars().next())
        && edge(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (dots && c == '.'))
}

/// A name of at most `max_len` characters, each allowed by `inner`, whose first (and, with
/// `alnum_last`, last) character is a letter or digit.
pub fn bounded_name(name: &str, max_len: usize, alnum_last: bool, inner: fn(char) -> bool) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    name.len() <= max_len
        && alnum(name.chars().next())
        && (!alnum_last || alnum(name.chars().last()))
        && name.chars().all(inner)
}

/// EKS cluster names: 1-100 characters, a letter or digit first, then letters, digits, '-', '_'.
pub fn eks_cluster_name(name: &str) -> bool {
    bounded_name(name, 100, false, |c| {
        c.is_ascii_alphanumeric() || c == '-' || c == '_'
    })
}

/// SageMaker endpoint and variant names: 1-63 letters, digits and '-', a letter or digit at
/// both ends.
pub fn sagemaker_name(name: &str) -> bool {
    bounded_name(name, 63, true, |c| c.is_ascii_alphanumeric() || c == '-')
}

pub const KUBERNETES_NAME_RULE: &str =
    "1 to 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit";

pub fn dynamodb_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

pub fn lambda_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-')
}

pub fn kafka_topic_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// What the kinds add to the file format, given by the engine's registry (the file format
/// knows no kind): the sections they own, the resource id prefixes `[[ignore]]` may name with
/// their fields, and each kind's checks of its own sections.
#[derive(Debug, Clone, Default)]
pub struct KindRules {
    pub ignorable: Vec<Ignorable>,
    pub checks: Vec<KindCheck>,
    /// The sections of the file the kinds and their connections own.
    pub sections: Vec<super::section::SectionKind>,
}

/// A kind's offline checks of the stack file.
pub type KindCheck = fn(&StackSpec, &mut Checker);

/// Every offline check of a stack: the stack's own sections and `[[ignore]]` rules here, each
/// kind's sections through `rules`.
pub fn validate(spec: &StackSpec, rules: &KindRules) -> Vec<Diagnostic> {
    let ignorable = &rules.ignorable;
    let mut check = Checker::default();
    if let Some(region) = &spec.stack.region {
        if !is_region_name(region.get_ref()) {
            check.error(
                region.span(),
                "stack.region",
                format!("{:?} is not an AWS region name", region.get_ref()),
                "use a region code such as \"us-east-1\" or \"eu-central-1\"",
            );
        }
    }
    if let Some(account) = &spec.stack.account_id {
        if !is_account_id(account.get_ref()) {
            check.error(
                account.span(),
                "stack.account_id",
                format!("{:?} is not an AWS account id", account.get_ref()),
                "give the 12 digits of the account id, quoted (\"123456789012\"), as `aws sts get-caller-identity` prints it",
            );
        }
    }
    if let Some(role) = &spec.stack.role_arn {
        let account = role_account(role.get_ref());
        let pinned = spec.stack.account_id.as_ref().map(|a| a.get_ref().as_str());
        match (account, pinned) {
            (None, _) => check.error(
                role.span(),
                "stack.role_arn",
                format!("{:?} is not an IAM role ARN", role.get_ref()),
                "give the role's ARN, e.g. \"arn:aws:iam::123456789012:role/pipectl-drift\" (`aws iam get-role --role-name NAME` prints it)",
            ),
            (Some(account), Some(pinned)) if account != pinned => check.error(
                role.span(),
                "stack.role_arn",
                format!("the role is in account {account}, but [stack] account_id is {pinned}"),
                "read a stack's account with a role of that account: correct the ARN or account_id",
            ),
            _ => {}
        }
    }
    check.name_rule(
        &spec.stack.name,
        "stack.name",
        "stack name",
        stack_name,
        "1 to 63 letters, digits, '-' and '_', starting and ending with a letter or digit: the name is the value of the pipectl.io/stack label on Kubernetes objects, which Kubernetes refuses otherwise (IsValidLabelValue)",
    );
    for (index, rule) in spec.ignore.iter().enumerate() {
        validate_ignore(&mut check, rule, &format!("ignore[{index}]"), ignorable);
    }
    for kind_check in &rules.checks {
        kind_check(spec, &mut check);
    }
    check.found
}

fn validate_ignore(check: &mut Checker, rule: &IgnoreRule, base: &str, ignorable: &[Ignorable]) {
    let pattern = rule.resource.get_ref();
    // The fields each registered kind lets an ignore rule name.
    let Some((prefix, fields)) = ignorable
        .iter()
        .find(|(prefix, _)| pattern.starts_with(prefix))
    else {
        let kinds: Vec<String> = ignorable
            .iter()
            .map(|(prefix, _)| format!("{prefix}NAME"))
            .collect();
        check.error(
            rule.resource.span(),
            &format!("{base}.resource"),
            format!("{pattern:?} is not a resource id pipectl can ignore fields of"),
            format!(
                "use a resource id as plans show it, or a prefix ending in '*': {}",
                kinds.join(", ")
            ),
        );
        return;
    };
    if pattern.len() == prefix.len() {
        check.error(
            rule.resource.span(),
            &format!("{base}.resource"),
            format!("{pattern:?} names no resource"),
            format!("add the resource name, or '*' for all: \"{prefix}*\""),
        );
    }
    if rule.fields.is_empty() {
        check.error(
            rule.resource.span(),
            &format!("{base}.fields"),
            "an ignore rule without fields ignores nothing".to_string(),
            format!(
                "list the fields to leave alone, from: {}",
                fields.join(", ")
            ),
        );
    }
    for (index, field) in rule.fields.iter().enumerate() {
        if !fields.contains(&field.get_ref().as_str()) {
            check.error(
                field.span(),
                &format!("{base}.fields[{index}]"),
                format!(
                    "{:?} is not a field of {prefix}* that can be ignored",
                    field.get_ref()
                ),
                format!("use one of: {}", fields.join(", ")),
            );
        }
    }
}
