//! The registry: every kind pipectl manages. The one file that names them all; the engine, the
//! loader's checks of `[[ignore]]` rules and the plan documents' schema loop over it.

use anyhow::{anyhow, Result};

use crate::kinds::kind::Kind;
use crate::plan::Step;

/// Every kind pipectl manages, in the order their changes appear in a plan.
pub static KINDS: &[&dyn Kind] = &[
    &crate::kinds::tables::TABLES,
    &crate::kinds::functions::FUNCTIONS,
    &crate::kinds::variants::VARIANTS,
    &crate::kinds::brokers::BROKERS,
    &crate::kinds::insights::CONTRIBUTOR_INSIGHTS,
    &crate::kinds::alerts::ALERTS,
    &crate::kinds::topics::TOPICS,
];

/// The fields an ignore rule may name, per resource id prefix, over every kind.
pub fn ignorable_fields() -> impl Iterator<Item = &'static (&'static str, &'static [&'static str])>
{
    KINDS.iter().flat_map(|kind| kind.ignorable().iter())
}

/// What the kinds add to the stack file's offline checks: their `[[ignore]]` fields and their
/// checks of their own sections.
pub fn kind_rules() -> crate::spec::validate::KindRules {
    crate::spec::validate::KindRules {
        ignorable: ignorable_fields().copied().collect(),
        checks: KINDS
            .iter()
            .filter_map(|kind| kind.offline_checks())
            .collect(),
    }
}

/// The kind that executes a step.
pub fn executor(step: &Step) -> Result<&'static dyn Kind> {
    KINDS
        .iter()
        .copied()
        .find(|kind| kind.executes(&step.service))
        .ok_or_else(|| {
            anyhow!(
                "step {:?}: no backend executes service {:?}",
                step.description,
                step.service
            )
        })
}

/// The JSON Schema of plan and drift documents, with each service's operations typed.
pub fn documents_schema() -> String {
    crate::plan::document::json_schema(|generator| {
        KINDS
            .iter()
            .flat_map(|kind| kind.operation_schemas(generator))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    /// The kinds' checks run with the loader's, and every error of the file is reported at once.
    fn contradictions_are_reported_together() {
        let text = r#"
[stack]
name = "s"

[[lambda.functions]]
name = "f"
timeout_seconds = 901
memory_mib = 64

[[dynamodb.tables]]
name = "tbl"
billing_mode = "PAY_PER_REQUEST"
partition_key = { name = "id", type = "S" }
capacity = { read = 1, write = 1 }
"#;
        let shown =
            match crate::spec::parse(std::path::Path::new("t.toml"), text, &super::kind_rules()) {
                Ok(_) => String::new(),
                Err(error) => error.to_string(),
            };
        assert!(shown.contains("t.toml:7:19"), "{shown}");
        assert!(shown.contains("t.toml:8:14"), "{shown}");
        assert!(shown.contains("PAY_PER_REQUEST"), "{shown}");
        assert!(shown.contains("3 errors"), "{shown}");
    }
    /// The committed schema is the one the types generate (`UPDATE_SCHEMA=1` rewrites it).
    #[test]
    fn the_committed_schema_is_generated_from_the_types() {
        crate::assert_generated(
            "docs/schema/pipectl.schema.json",
            &super::documents_schema(),
            "UPDATE_SCHEMA",
        );
    }
}
