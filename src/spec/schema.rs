//! The JSON Schema of the stack file, generated from the types the file is parsed into, for
//! editors: taplo and Even Better TOML read the `#:schema` line `pipectl init` writes and
//! complete and check keys with it. Committed as docs/schema/stack.schema.json (a test in the
//! engine's registry checks it is what the types generate); `pipectl schema` prints it. The
//! file's own keys come from `Header`, each kind's part from its `Section` at its place.

use schemars::Schema;
use serde_json::{Map, Value};

use super::section::SectionKind;
use super::types::Header;

pub fn stack_schema(sections: &[SectionKind]) -> String {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let parts: Vec<(&SectionKind, Schema)> = sections
        .iter()
        .map(|section| (section, section.schema(&mut generator)))
        .collect();
    let mut schema = generator.into_root_schema_for::<Header>();
    schema.insert("additionalProperties".to_string(), false.into());
    for (section, part) in parts {
        if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            place(properties, section.path, part.to_value());
        }
    }
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

/// Puts a section's schema at its place, in objects that take no other keys.
fn place(properties: &mut Map<String, Value>, path: &[&str], part: Value) {
    let Some((key, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        properties.insert(key.to_string(), part);
        return;
    }
    let table = properties.entry(key.to_string()).or_insert_with(
        || serde_json::json!({ "type": "object", "properties": {}, "additionalProperties": false }),
    );
    if let Some(inner) = table.get_mut("properties").and_then(Value::as_object_mut) {
        place(inner, rest, part);
    }
}
