//! `pipectl import --table NAME` (or found by `--tag`, `--name-prefix`): live tables with their
//! indexes and Contributor Insights, written as `[[dynamodb.tables]]`.

use anyhow::{anyhow, Result};

use super::contributor_insights;
use super::section::{BillingMode, Capacity};
use super::{read_table, read_tags, Key, LiveIndex, LiveTable};
use crate::kinds::kind::{ImportContext, ImportedPart};
use crate::providers::{describe_sdk_error, Aws};
use crate::spec::write::{quoted, quoted_list, ImportFlag, StackWriter};

pub const FLAGS: &[ImportFlag] = &[ImportFlag {
    long: "table",
    value_name: "NAME",
    help: "A DynamoDB table (repeatable)",
    repeatable: true,
    selects: true,
}];

pub async fn import(context: &ImportContext<'_>) -> Result<Option<ImportedPart>> {
    let aws = context.aws;
    let candidates = if context.discovers() {
        list_tables(aws, context.prefix()).await?
    } else {
        vec![]
    };
    let names = context
        .names("table", candidates, |arn| async move {
            read_tags(aws, &arn).await
        })
        .await?;
    if names.is_empty() {
        return Ok(None);
    }
    let tables = futures::future::try_join_all(names.iter().map(|name| async move {
        read_table(aws, name)
            .await?
            .ok_or_else(|| anyhow!("DynamoDB table {name} does not exist in {}", aws.region))
    }))
    .await?;
    let insights = read_insights(aws, &tables).await?;
    let mut out = StackWriter::default();
    for table in &tables {
        write_table(&mut out, table, &insights);
    }
    Ok(Some(ImportedPart {
        writer: out,
        namespace: None,
    }))
}

/// Tables whose name starts with `prefix`, with their ARNs (ListTables, then DescribeTable).
async fn list_tables(aws: &Aws, prefix: &str) -> Result<Vec<(String, String)>> {
    let names: Vec<String> = aws
        .dynamodb
        .list_tables()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| anyhow!("ListTables failed: {}", describe_sdk_error(&e)))?;
    let mut tables = vec![];
    for name in names.into_iter().filter(|n| n.starts_with(prefix)) {
        let described = aws
            .dynamodb
            .describe_table()
            .table_name(&name)
            .send()
            .await
            .map_err(|e| anyhow!("DescribeTable {name} failed: {}", describe_sdk_error(&e)))?;
        let arn = described
            .table()
            .and_then(|t| t.table_arn())
            .unwrap_or_default()
            .to_string();
        tables.push((name, arn));
    }
    Ok(tables)
}

/// Which tables and indexes have Contributor Insights on (`TABLE` or `TABLE/INDEX`): one
/// DescribeContributorInsights each.
async fn read_insights(aws: &Aws, tables: &[LiveTable]) -> Result<Insights> {
    let mut enabled = Insights::new();
    for table in tables {
        let indexes = table
            .indexes
            .iter()
            .map(|i| Some(i.definition.name.as_str()));
        for index in std::iter::once(None).chain(indexes) {
            let live = contributor_insights::status(aws, &table.name, index).await?;
            if let Some(live) = live.filter(|l| contributor_insights::is_on(&l.status)) {
                let name = match index {
                    Some(index) => format!("{}/{index}", table.name),
                    None => table.name.clone(),
                };
                enabled.insert(name, live.mode);
            }
        }
    }
    Ok(enabled)
}

fn key_table(key: &Key) -> String {
    format!(
        "{{ name = {}, type = {} }}",
        quoted(&key.name),
        quoted(&key.attribute_type)
    )
}

fn capacity_table(capacity: &Capacity) -> String {
    format!("{{ read = {}, write = {} }}", capacity.read, capacity.write)
}

/// The tables and indexes whose Contributor Insights are on, with their mode.
type Insights = std::collections::BTreeMap<String, Option<String>>;

/// `contributor_insights = true`, and its mode when it is not DynamoDB's default.
fn write_insights(out: &mut StackWriter, insights: &Insights, name: &str) {
    let Some(mode) = insights.get(name) else {
        return;
    };
    out.key("contributor_insights", true);
    if let Some(mode) = mode
        .as_deref()
        .filter(|m| *m != contributor_insights::DEFAULT_MODE)
    {
        out.key("contributor_insights_mode", quoted(mode));
    }
}

fn write_table(out: &mut StackWriter, table: &LiveTable, insights: &Insights) {
    out.line("");
    out.line(&format!("# From DynamoDB table {}.", table.name));
    out.line("[[dynamodb.tables]]");
    out.key("name", quoted(&table.name));
    out.key("billing_mode", quoted(table.billing_mode.as_aws()));
    if let Some(key) = &table.partition_key {
        out.key("partition_key", key_table(key));
    }
    if let Some(key) = &table.sort_key {
        out.key("sort_key", key_table(key));
    }
    if table.billing_mode == BillingMode::Provisioned {
        if let Some(capacity) = &table.capacity {
            out.key("capacity", capacity_table(capacity));
        }
    }
    write_insights(out, insights, &table.name);
    let mut indexes: Vec<&LiveIndex> = table.indexes.iter().collect();
    indexes.sort_by(|a, b| a.definition.name.cmp(&b.definition.name));
    for index in indexes {
        write_index(out, table, index, insights);
    }
}

fn write_index(out: &mut StackWriter, table: &LiveTable, index: &LiveIndex, insights: &Insights) {
    let definition = &index.definition;
    out.line("");
    out.line("[[dynamodb.tables.global_secondary_indexes]]");
    out.key("name", quoted(&definition.name));
    out.key("partition_key", key_table(&definition.partition_key));
    if let Some(key) = &definition.sort_key {
        out.key("sort_key", key_table(key));
    }
    out.key("projection", quoted(&definition.projection));
    if !definition.non_key_attributes.is_empty() {
        out.key(
            "non_key_attributes",
            quoted_list(&definition.non_key_attributes),
        );
    }
    if table.billing_mode == BillingMode::Provisioned {
        if let Some(capacity) = &definition.capacity {
            out.key("capacity", capacity_table(capacity));
        }
    }
    write_insights(
        out,
        insights,
        &format!("{}/{}", table.name, definition.name),
    );
}
