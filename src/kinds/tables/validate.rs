//! Offline checks of `[[dynamodb.tables]]`: DynamoDB's rules for keys, indexes and capacity.

use std::collections::BTreeMap;

use toml::Spanned;

use super::limits;
use super::section::*;
use crate::spec::validate::*;
use crate::spec::StackSpec;

/// The kind's offline checks.
pub fn check(spec: &StackSpec, check: &mut Checker) {
    let tables = spec.entries::<DynamoDbTable>();
    for (index, table) in tables.iter().enumerate() {
        validate_table(check, table, &format!("dynamodb.tables[{index}]"));
    }
    check.unique(
        tables
            .iter()
            .enumerate()
            .map(|(i, t)| (&t.name, format!("dynamodb.tables[{i}].name"))),
        "DynamoDB table",
    );
}

fn validate_table(check: &mut Checker, table: &DynamoDbTable, base: &str) {
    if let Some(usage) = &table.usage {
        let TableUsage {
            reads_per_month,
            writes_per_month,
        } = *usage.get_ref();
        if reads_per_month < 0 || writes_per_month < 0 {
            check.error(
                usage.span(),
                &format!("{base}.usage"),
                "usage counts request units a month: it cannot be negative".to_string(),
                "give reads_per_month and writes_per_month as 0 or more",
            );
        }
    }
    check.name(
        &table.name,
        &format!("{base}.name"),
        "DynamoDB table name",
        255,
        dynamodb_name_char,
        "letters, digits, '_', '-' and '.' (at least 3)",
    );
    if table.name.get_ref().len() < 3 {
        check.error(
            table.name.span(),
            &format!("{base}.name"),
            format!(
                "table name {:?} is shorter than 3 characters",
                table.name.get_ref()
            ),
            "DynamoDB table names are 3 to 255 characters long",
        );
    }
    let mode = *table.billing_mode.get_ref();
    validate_capacity(
        check,
        mode,
        &table.capacity,
        &table.billing_mode,
        &format!("{base}.capacity"),
        "the table",
    );

    let mut types = AttributeTypes::default();
    types.record(check, &table.partition_key, format!("{base}.partition_key"));
    if let Some(sort) = &table.sort_key {
        types.record(check, sort, format!("{base}.sort_key"));
    }
    for (index, gsi) in table.global_secondary_indexes.iter().enumerate() {
        let gsi_base = format!("{base}.global_secondary_indexes[{index}]");
        validate_index(check, table, gsi, &gsi_base, &mut types);
    }
    check.unique(
        table
            .global_secondary_indexes
            .iter()
            .enumerate()
            .map(|(i, g)| {
                (
                    &g.name,
                    format!("{base}.global_secondary_indexes[{i}].name"),
                )
            }),
        "index",
    );
}

/// Each attribute used in any key schema must have one type across the table and its indexes:
/// the first declaration of each, and where it was.
#[derive(Default)]
struct AttributeTypes(BTreeMap<String, (AttributeType, String)>);

impl AttributeTypes {
    fn record(&mut self, check: &mut Checker, key: &KeyAttribute, field: String) {
        let name = key.name.get_ref().clone();
        let kind = *key.attribute_type.get_ref();
        match self.0.get(&name) {
            Some((seen, where_seen)) if *seen != kind => check.error(
                key.attribute_type.span(),
                &format!("{field}.type"),
                format!(
                    "attribute {name:?} is declared as {} here but as {} at {where_seen}",
                    kind.as_aws(),
                    seen.as_aws()
                ),
                "DynamoDB attribute definitions have one type per attribute: use the same type everywhere",
            ),
            Some(_) => {}
            None => {
                self.0.insert(name, (kind, field));
            }
        }
    }
}

/// One global secondary index: its name, keys, capacity and projection.
fn validate_index(
    check: &mut Checker,
    table: &DynamoDbTable,
    gsi: &GlobalSecondaryIndex,
    gsi_base: &str,
    types: &mut AttributeTypes,
) {
    check.name(
        &gsi.name,
        &format!("{gsi_base}.name"),
        "index name",
        255,
        dynamodb_name_char,
        "letters, digits, '_', '-' and '.' (at least 3)",
    );
    if gsi.name.get_ref().len() < 3 {
        check.error(
            gsi.name.span(),
            &format!("{gsi_base}.name"),
            format!(
                "index name {:?} is shorter than 3 characters",
                gsi.name.get_ref()
            ),
            "DynamoDB index names are 3 to 255 characters long",
        );
    }
    if gsi.remove {
        // A removal names the index only: nothing else of it is used.
        return;
    }
    match &gsi.partition_key {
        Some(key) => types.record(check, key, format!("{gsi_base}.partition_key")),
        None => check.error(
            gsi.name.span(),
            &format!("{gsi_base}.partition_key"),
            format!("index {:?} has no partition_key", gsi.name.get_ref()),
            "give the index a partition_key = { name = \"attr\", type = \"S\" }, or set remove = true to delete the live index",
        ),
    }
    if let Some(sort) = &gsi.sort_key {
        types.record(check, sort, format!("{gsi_base}.sort_key"));
    }
    validate_capacity(
        check,
        *table.billing_mode.get_ref(),
        &gsi.capacity,
        &table.billing_mode,
        &format!("{gsi_base}.capacity"),
        &format!("index {:?}", gsi.name.get_ref()),
    );
    let include = *gsi.projection.get_ref() == ProjectionType::Include;
    if include == gsi.non_key_attributes.is_empty() {
        check.error(
            gsi.projection.span(),
            &format!("{gsi_base}.projection"),
            if include {
                "projection INCLUDE needs non_key_attributes".to_string()
            } else {
                "non_key_attributes is only allowed with projection INCLUDE".to_string()
            },
            "use projection = \"INCLUDE\" with non_key_attributes = [\"attr\"], or drop non_key_attributes",
        );
    }
}

fn validate_capacity(
    check: &mut Checker,
    mode: BillingMode,
    capacity: &Option<Spanned<Capacity>>,
    billing_mode: &Spanned<BillingMode>,
    field: &str,
    owner: &str,
) {
    match (mode, capacity) {
        (BillingMode::Provisioned, None) => check.error(
            billing_mode.span(),
            field,
            format!("billing_mode is PROVISIONED but {owner} has no capacity"),
            format!("add {field} = {{ read = 5, write = 5 }} or use billing_mode = \"PAY_PER_REQUEST\""),
        ),
        (BillingMode::PayPerRequest, Some(capacity)) => check.error(
            capacity.span(),
            field,
            format!("{owner} sets capacity but billing_mode is PAY_PER_REQUEST"),
            "remove the capacity (on-demand tables have none) or use billing_mode = \"PROVISIONED\"",
        ),
        (BillingMode::Provisioned, Some(capacity)) => {
            for (unit, value) in [("read", capacity.get_ref().read), ("write", capacity.get_ref().write)] {
                if !limits::DYNAMODB_CAPACITY_UNITS.contains(value) {
                    check.error(
                        capacity.span(),
                        &format!("{field}.{unit}"),
                        format!(
                            "{unit} capacity is {value}, but it must be at least {}",
                            limits::DYNAMODB_CAPACITY_UNITS.min,
                        ),
                        format!("set {unit} to at least 1 ({})", limits::DYNAMODB_CAPACITY_UNITS.source),
                    );
                }
            }
        }
        (BillingMode::PayPerRequest, None) => {}
    }
}
