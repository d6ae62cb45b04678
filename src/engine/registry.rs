//! The registry: every kind pipectl manages. The one file that names them all; the engine, the
//! loader (the kinds' sections of the file, their checks and `[[ignore]]` fields), the schemas
//! and `import` loop over it.

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

/// Where the Price List has every price the kinds' costs name (`pipectl prices update`).
pub fn price_sources() -> Vec<crate::plan::cost::PriceSource> {
    KINDS
        .iter()
        .flat_map(|kind| kind.price_sources().iter().copied())
        .collect()
}

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
        checks: crate::providers::connection_checks()
            .into_iter()
            .chain(KINDS.iter().filter_map(|kind| kind.offline_checks()))
            .collect(),
        sections: sections(),
    }
}

/// The sections of the stack file: the connections' and every kind's, in registry order.
fn sections() -> Vec<crate::spec::SectionKind> {
    crate::providers::connection_sections()
        .into_iter()
        .chain(KINDS.iter().flat_map(|kind| kind.sections()))
        .collect()
}

/// The JSON Schema of the stack file, with every kind's sections.
pub fn stack_schema() -> String {
    crate::spec::schema::stack_schema(&sections())
}

/// `pipectl import`'s flags that name live objects, over every kind.
pub fn import_flags() -> impl Iterator<Item = &'static crate::spec::write::ImportFlag> {
    KINDS.iter().flat_map(|kind| kind.import_flags().iter())
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
    /// `prices update` looks up every price of the built-in book but the EPU-hour, whose usage
    /// type no stored source names (docs/cost.md), and nothing the book lacks; each lookup is
    /// one kind's.
    #[test]
    fn the_kinds_price_sources_cover_the_book() {
        let book = crate::plan::cost::Snapshot::builtin().expect("the snapshot");
        let booked: std::collections::BTreeSet<&str> = book.regions["us-east-1"]
            .keys()
            .map(String::as_str)
            .filter(|sku| *sku != "lambda:epu-hour")
            .collect();
        let sources = super::price_sources();
        let looked_up: std::collections::BTreeSet<&str> = sources.iter().map(|s| s.sku).collect();
        assert_eq!(looked_up, booked);
        assert_eq!(looked_up.len(), sources.len(), "a price looked up twice");
    }

    /// `UPDATE_SCHEMA=1 cargo test --lib schema` rewrites it after a change of the spec types.
    #[test]
    /// A kind's own words for a value serde refused, and Kubernetes' names of its keys.
    fn a_kind_explains_its_values_and_knows_kubernetes_names() {
        let text = "[stack]\nname = \"s\"\n\n[[lambda.functions]]\nname = \"f\"\nreserved_concurrency = \"lots\"\n\n[kafka.brokers]\nstatefulset = \"kafka\"\nminReplicas = 3\nmax_replicas = 6\ntarget_cpu_utilization = 70\nreplication_factor = 3\nstabilizationWindowSeconds = 600\n";
        let error =
            match crate::spec::parse(std::path::Path::new("t.toml"), text, &super::kind_rules()) {
                Ok(_) => panic!("refused values were taken"),
                Err(error) => error.to_string(),
            };
        assert!(
            error.contains("reserved_concurrency must be a whole number"),
            "{error}"
        );
        assert!(error.contains("\"none\" to remove"), "{error}");
        assert!(error.contains("did you mean `min_replicas`"), "{error}");
        assert!(
            error.contains("scale_down = { stabilization_window_seconds = N }"),
            "{error}"
        );
    }

    #[test]
    fn the_committed_stack_schema_is_generated_from_the_types() {
        crate::assert_generated(
            "docs/schema/stack.schema.json",
            &super::stack_schema(),
            "UPDATE_SCHEMA",
        );
    }

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
