//! The JSON Schema of the stack file, generated from the types the file is parsed into, for
//! editors: taplo and Even Better TOML read the `#:schema` line `pipectl init` writes and
//! complete and check keys with it. Committed as docs/schema/stack.schema.json (a test checks
//! it is what the types generate); `pipectl schema` prints it.

use super::StackSpec;

pub fn stack_schema() -> String {
    let mut schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<StackSpec>();
    schema.insert(
        "$id".to_string(),
        "https://pipectl.dev/schema/stack.schema.json".into(),
    );
    schema.insert("title".to_string(), "pipectl stack file".into());
    schema.insert(
        "description".to_string(),
        "The scaling settings of a Kafka log-processing stack on AWS (docs/spec.md). Generated from pipectl's types. Offline checks beyond this schema: `pipectl validate`.".into(),
    );
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    /// `UPDATE_SCHEMA=1 cargo test --lib schema` rewrites it after a change of the spec types.
    #[test]
    fn the_committed_stack_schema_is_generated_from_the_types() {
        crate::assert_generated(
            "docs/schema/stack.schema.json",
            &super::stack_schema(),
            "UPDATE_SCHEMA",
        );
    }
}
