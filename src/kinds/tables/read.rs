//! The live read of tables: DescribeTable (with the indexes pipectl created, from the table's tag),
//! minus everything AWS fills in by itself.

use super::*;

/// What DescribeTable reported, minus everything AWS fills in by itself.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LiveTable {
    pub name: String,
    pub status: String,
    pub billing_mode: BillingMode,
    pub capacity: Option<Capacity>,
    pub partition_key: Option<Key>,
    pub sort_key: Option<Key>,
    pub indexes: Vec<LiveIndex>,
    /// Seconds since the epoch of the last switch to PAY_PER_REQUEST, if AWS reports one.
    pub last_switch_to_on_demand: Option<i64>,
    #[serde(default)]
    pub arn: Option<String>,
    /// The indexes pipectl created (its `pipectl:indexes` tag); read only when the table has
    /// an index the file does not list.
    #[serde(default)]
    pub created_indexes: Vec<String>,
    /// Why DynamoDB archived the table (`ArchivalSummary.ArchivalReason`), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archival_reason: Option<String>,
    /// `TableSizeBytes` (DynamoDB refreshes it about every six hours) and whether the table
    /// class is STANDARD (priced for cost; not fingerprinted: it moves by itself).
    #[serde(skip)]
    pub storage: Option<(i64, bool)>,
    /// The stack its `pipectl:stack` tag names.
    #[serde(default)]
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LiveIndex {
    pub definition: IndexDefinition,
    pub status: String,
    pub backfilling: bool,
}

impl LiveTable {
    /// Whether the table and its indexes serve requests, in DynamoDB's words: a table whose
    /// KMS key is inaccessible or that DynamoDB archived does not; one still CREATING or
    /// UPDATING, or an index not yet ACTIVE (DynamoDB has no failed index state: an index
    /// whose creation fails is removed, and the plan shows it to create again), does not yet.
    pub(super) fn health(&self) -> Option<Unhealthy> {
        let name = &self.name;
        let help = match self.status.as_str() {
            "INACCESSIBLE_ENCRYPTION_CREDENTIALS" => format!("DynamoDB cannot use the table's KMS key: re-enable the key or restore its grants (kms:Encrypt, kms:Decrypt, kms:DescribeKey for DynamoDB); after 7 days without it DynamoDB archives the table (aws dynamodb describe-table --table-name {name})"),
            "ARCHIVING" | "ARCHIVED" => format!("DynamoDB archived the table and serves no requests: restore it from the backup it made (ArchivalSummary.ArchivalBackupArn, aws dynamodb restore-table-from-backup), then plan again (aws dynamodb describe-table --table-name {name})"),
            _ => match self.settled() {
                Some(_) => format!("DynamoDB is still carrying out a change and serves the table or index as before until it is done; it settles by itself: plan again once `aws dynamodb describe-table --table-name {name}` shows every status ACTIVE"),
                None => return None,
            },
        };
        let reason = match (self.status.as_str(), &self.archival_reason, self.settled()) {
            ("ACTIVE", _, Some(index)) => format!("{index} (table {name})"),
            (status, Some(why), _) => format!("table {name} is {status}: {why}"),
            (status, None, _) => format!("table {name} is {status}"),
        };
        Some(Unhealthy { reason, help })
    }

    /// Settled: the table and every index ACTIVE, nothing backfilling.
    pub(super) fn settled(&self) -> Option<String> {
        if self.status != "ACTIVE" {
            return Some(format!("table {}", self.status));
        }
        self.indexes.iter().find_map(|index| {
            if index.status != "ACTIVE" || index.backfilling {
                Some(format!(
                    "index {} {}{}",
                    index.definition.name,
                    index.status,
                    if index.backfilling {
                        ", backfilling"
                    } else {
                        ""
                    }
                ))
            } else {
                None
            }
        })
    }
}

pub(super) fn live_from_description(table: &TableDescription) -> LiveTable {
    let types: BTreeMap<&str, &str> = table
        .attribute_definitions()
        .iter()
        .map(|a| (a.attribute_name(), a.attribute_type().as_str()))
        .collect();
    let key = |schema: &[KeySchemaElement], kind: KeyType| {
        schema.iter().find(|k| *k.key_type() == kind).map(|k| Key {
            name: k.attribute_name().to_string(),
            attribute_type: types.get(k.attribute_name()).unwrap_or(&"?").to_string(),
        })
    };
    let billing_mode = match table.billing_mode_summary().and_then(|s| s.billing_mode()) {
        Some(AwsBillingMode::PayPerRequest) => BillingMode::PayPerRequest,
        _ => BillingMode::Provisioned,
    };
    let capacity_of = |read: Option<i64>, write: Option<i64>| match (billing_mode, read, write) {
        (BillingMode::Provisioned, Some(read), Some(write)) => Some(Capacity { read, write }),
        _ => None,
    };
    let indexes = table
        .global_secondary_indexes()
        .iter()
        .map(|gsi| {
            let schema = gsi.key_schema();
            let projection = gsi.projection();
            LiveIndex {
                definition: IndexDefinition {
                    name: gsi.index_name().unwrap_or_default().to_string(),
                    partition_key: key(schema, KeyType::Hash).unwrap_or(Key {
                        name: String::new(),
                        attribute_type: "?".into(),
                    }),
                    sort_key: key(schema, KeyType::Range),
                    projection: projection
                        .and_then(|p| p.projection_type())
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_else(|| "ALL".into()),
                    non_key_attributes: projection
                        .map(|p| p.non_key_attributes().to_vec())
                        .unwrap_or_default(),
                    capacity: gsi.provisioned_throughput().and_then(|t| {
                        capacity_of(t.read_capacity_units(), t.write_capacity_units())
                    }),
                },
                status: gsi
                    .index_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_else(|| "ACTIVE".into()),
                backfilling: gsi.backfilling().unwrap_or(false),
            }
        })
        .collect();
    LiveTable {
        name: table.table_name().unwrap_or_default().to_string(),
        status: table
            .table_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "ACTIVE".into()),
        archival_reason: table
            .archival_summary()
            .and_then(|summary| summary.archival_reason())
            .map(str::to_string),
        storage: table.table_size_bytes().map(|bytes| {
            let standard = table
                .table_class_summary()
                .and_then(|c| c.table_class())
                .is_none_or(|c| c.as_str() == "STANDARD");
            (bytes, standard)
        }),
        billing_mode,
        capacity: table
            .provisioned_throughput()
            .and_then(|t| capacity_of(t.read_capacity_units(), t.write_capacity_units())),
        partition_key: key(table.key_schema(), KeyType::Hash),
        sort_key: key(table.key_schema(), KeyType::Range),
        indexes,
        last_switch_to_on_demand: table
            .billing_mode_summary()
            .and_then(|s| s.last_update_to_pay_per_request_date_time())
            .map(|t| t.secs()),
        arn: table.table_arn().map(str::to_string),
        created_indexes: vec![],
        owner: None,
    }
}

/// Reads one table for a plan: DescribeTable and its tags (ListTagsOfResource: the stack that
/// owns it, and the indexes pipectl created). DescribeTable does not return tags, so ownership
/// costs one call per existing table.
pub async fn read_table_for(aws: &Aws, desired: &TableDefinition) -> Result<Option<LiveTable>> {
    let Some(mut live) = read_table(aws, &desired.name).await? else {
        return Ok(None);
    };
    if let Some(arn) = &live.arn {
        let tags = read_tags(aws, arn).await?;
        live.owner = tags.get(STACK_TAG).cloned();
        live.created_indexes = index_names(&tags);
    }
    Ok(Some(live))
}

/// A table's tags (ListTagsOfResource).
pub async fn read_tags(aws: &Aws, arn: &str) -> Result<BTreeMap<String, String>> {
    let output = aws
        .dynamodb
        .list_tags_of_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "ListTagsOfResource {arn} failed: {}",
                describe_sdk_error(&e)
            )
        })?;
    Ok(output
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

/// The names in the table's `pipectl:indexes` tag.
pub(super) async fn created_indexes(aws: &Aws, arn: &str) -> Result<Vec<String>> {
    Ok(index_names(&read_tags(aws, arn).await?))
}

fn index_names(tags: &BTreeMap<String, String>) -> Vec<String> {
    tags.get(CREATED_INDEXES_TAG)
        .map(|names| {
            names
                .split(',')
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Adds (or removes) an index in the table's `pipectl:indexes` tag, after pipectl created (or
/// deleted) it. Two calls, only when an index is created or deleted.
pub(super) async fn record_created_index(
    aws: &Aws,
    table: &str,
    index: &str,
    created: bool,
) -> Result<()> {
    let arn = read_table(aws, table)
        .await?
        .and_then(|t| t.arn)
        .ok_or_else(|| anyhow!("DescribeTable {table} gave no ARN to tag"))?;
    let mut names = created_indexes(aws, &arn).await?;
    names.retain(|n| n != index);
    if created {
        names.push(index.to_string());
    }
    names.sort();
    aws.dynamodb
        .tag_resource()
        .resource_arn(&arn)
        .tags(
            Tag::builder()
                .key(CREATED_INDEXES_TAG)
                .value(names.join(","))
                .build()?,
        )
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "TagResource {table} ({CREATED_INDEXES_TAG}) failed: {}",
                describe_sdk_error(&e)
            )
        })?;
    Ok(())
}

/// Reads one table; `None` when it does not exist.
pub async fn read_table(aws: &Aws, name: &str) -> Result<Option<LiveTable>> {
    match aws.dynamodb.describe_table().table_name(name).send().await {
        Ok(output) => Ok(output.table().map(live_from_description)),
        Err(err) if err.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(err) => Err(anyhow!(
            "DescribeTable {name} failed: {}",
            describe_sdk_error(&err)
        )),
    }
}
