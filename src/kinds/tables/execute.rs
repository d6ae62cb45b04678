//! Carrying out a table's operations: one function per call, each followed by the wait until
//! the table settles.

use super::*;

pub(super) fn throughput(capacity: Capacity) -> Result<ProvisionedThroughput> {
    Ok(ProvisionedThroughput::builder()
        .read_capacity_units(capacity.read)
        .write_capacity_units(capacity.write)
        .build()?)
}

pub(super) fn key_schema(partition: &Key, sort: Option<&Key>) -> Result<Vec<KeySchemaElement>> {
    let mut schema = vec![KeySchemaElement::builder()
        .attribute_name(&partition.name)
        .key_type(KeyType::Hash)
        .build()?];
    if let Some(sort) = sort {
        schema.push(
            KeySchemaElement::builder()
                .attribute_name(&sort.name)
                .key_type(KeyType::Range)
                .build()?,
        );
    }
    Ok(schema)
}

pub(super) fn attribute_definitions(keys: &[Key]) -> Result<Vec<AttributeDefinition>> {
    keys.iter()
        .map(|k| {
            Ok(AttributeDefinition::builder()
                .attribute_name(&k.name)
                .attribute_type(ScalarAttributeType::from(k.attribute_type.as_str()))
                .build()?)
        })
        .collect()
}

pub(super) fn projection(index: &IndexDefinition) -> Projection {
    let mut projection =
        Projection::builder().projection_type(AwsProjectionType::from(index.projection.as_str()));
    for attribute in &index.non_key_attributes {
        projection = projection.non_key_attributes(attribute);
    }
    projection.build()
}

pub(super) fn aws_billing_mode(mode: BillingMode) -> AwsBillingMode {
    match mode {
        BillingMode::PayPerRequest => AwsBillingMode::PayPerRequest,
        BillingMode::Provisioned => AwsBillingMode::Provisioned,
    }
}

/// Executes one of the kind's operations: one function per operation.
pub async fn execute(aws: &Aws, operation: &TableOperation, progress: &StepProgress) -> Result<()> {
    match operation {
        TableOperation::CreateTable { table } => create_table(aws, table, progress).await,
        TableOperation::UpdateTable {
            table,
            billing_mode,
            capacity,
            index_capacity,
        } => {
            let wanted = Throughput {
                billing_mode: *billing_mode,
                capacity: *capacity,
                index_capacity,
            };
            update_throughput(aws, table, &wanted, progress).await
        }
        TableOperation::CreateIndex {
            table,
            index,
            attribute_definitions,
            position,
        } => create_index(aws, table, index, attribute_definitions, position, progress).await,
        TableOperation::DeleteIndex {
            table,
            index,
            position,
        } => delete_index(aws, table, index, position, progress).await,
        TableOperation::TagOwner { table, arn, stack } => tag_owner(aws, table, arn, stack).await,
    }
}

/// Moves the table's `pipectl:stack` tag to the stack that took it over.
async fn tag_owner(aws: &Aws, table: &str, arn: &str, stack: &str) -> Result<()> {
    let tag = Tag::builder()
        .key(STACK_TAG)
        .value(stack)
        .build()
        .map_err(|e| anyhow!("tag for {table}: {e}"))?;
    aws.dynamodb
        .tag_resource()
        .resource_arn(arn)
        .tags(tag)
        .send()
        .await
        .map_err(|e| anyhow!("TagResource {table} failed: {}", describe_sdk_error(&e)))?;
    Ok(())
}

/// What an UpdateTable sets: the billing mode, and throughput only where it must be sent.
#[derive(Clone, Copy)]
pub(super) struct Throughput<'a> {
    billing_mode: BillingMode,
    capacity: Option<Capacity>,
    index_capacity: &'a [(String, Capacity)],
}

/// UpdateTable with the billing mode and throughput; a lost reply is recovered by reading the
/// table (the retry would be refused as "will not change").
pub(super) async fn update_throughput(
    aws: &Aws,
    table: &str,
    wanted: &Throughput<'_>,
    progress: &StepProgress,
) -> Result<()> {
    let Throughput {
        billing_mode,
        capacity,
        index_capacity,
    } = *wanted;
    wait_until_settled(aws, table, None, progress).await?;
    let mut request = aws
        .dynamodb
        .update_table()
        .table_name(table)
        .billing_mode(aws_billing_mode(billing_mode));
    if let Some(capacity) = capacity {
        request = request.provisioned_throughput(throughput(capacity)?);
    }
    for (index, capacity) in index_capacity {
        request = request.global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .update(
                    UpdateGlobalSecondaryIndexAction::builder()
                        .index_name(index)
                        .provisioned_throughput(throughput(*capacity)?)
                        .build()?,
                )
                .build(),
        );
    }
    progress.status(&format!(
        "UpdateTable {table}: billing mode {}",
        billing_mode.as_aws()
    ));
    if let Err(e) = request.send().await {
        let error = anyhow!("UpdateTable {table} failed: {}", describe_sdk_error(&e));
        // A retry after a lost reply finds the change made ("will not change",
        // "table is being updated"): look before failing.
        let made = |live: &LiveTable| {
            live.billing_mode == billing_mode
                && capacity.is_none_or(|c| live.capacity == Some(c))
                && index_capacity.iter().all(|(name, c)| {
                    live.indexes
                        .iter()
                        .any(|i| i.definition.name == *name && i.definition.capacity == Some(*c))
                })
        };
        recover_or(aws, table, progress, error, made).await?;
    }
    wait_until_settled(aws, table, None, progress).await
}

/// UpdateTable creating one global secondary index, then the wait until it is ACTIVE.
pub(super) async fn create_index(
    aws: &Aws,
    table: &str,
    index: &IndexDefinition,
    keys: &[Key],
    position: &str,
    progress: &StepProgress,
) -> Result<()> {
    wait_until_settled(aws, table, None, progress).await?;
    let mut action = CreateGlobalSecondaryIndexAction::builder()
        .index_name(&index.name)
        .set_key_schema(Some(key_schema(
            &index.partition_key,
            index.sort_key.as_ref(),
        )?))
        .projection(projection(index));
    if let Some(capacity) = index.capacity {
        action = action.provisioned_throughput(throughput(capacity)?);
    }
    progress.status(&format!("creating index {} ({position})", index.name));
    let sent = aws
        .dynamodb
        .update_table()
        .table_name(table)
        .set_attribute_definitions(Some(attribute_definitions(keys)?))
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .create(action.build()?)
                .build(),
        )
        .send()
        .await;
    if let Err(e) = sent {
        let error = anyhow!(
            "UpdateTable {table} (create index {}) failed: {}",
            index.name,
            describe_sdk_error(&e)
        );
        // A lost reply: the retry finds the index already there (or creating).
        let made = |live: &LiveTable| {
            live.indexes
                .iter()
                .any(|i| i.definition.name == index.name && i.definition.same_shape(index))
        };
        recover_or(aws, table, progress, error, made).await?;
    }
    record_created_index(aws, table, &index.name, true).await?;
    wait_until_settled(aws, table, None, progress).await
}

/// UpdateTable deleting one global secondary index, then the wait until it is gone.
pub(super) async fn delete_index(
    aws: &Aws,
    table: &str,
    index: &str,
    position: &str,
    progress: &StepProgress,
) -> Result<()> {
    wait_until_settled(aws, table, None, progress).await?;
    progress.status(&format!("deleting index {index} ({position})"));
    let sent = aws
        .dynamodb
        .update_table()
        .table_name(table)
        .global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .delete(
                    DeleteGlobalSecondaryIndexAction::builder()
                        .index_name(index)
                        .build()?,
                )
                .build(),
        )
        .send()
        .await;
    if let Err(e) = sent {
        let error = anyhow!(
            "UpdateTable {table} (delete index {index}) failed: {}",
            describe_sdk_error(&e)
        );
        // A lost reply: the retry finds the index gone (or deleting).
        let made = |live: &LiveTable| {
            live.indexes
                .iter()
                .all(|i| i.definition.name != *index || i.status == "DELETING")
        };
        recover_or(aws, table, progress, error, made).await?;
    }
    wait_until_settled(aws, table, Some(index), progress).await?;
    record_created_index(aws, table, index, false).await
}

pub(super) async fn create_table(
    aws: &Aws,
    table: &TableDefinition,
    progress: &StepProgress,
) -> Result<()> {
    let provisioned = table.billing_mode == BillingMode::Provisioned;
    let mut request = aws
        .dynamodb
        .create_table()
        .table_name(&table.name)
        .billing_mode(aws_billing_mode(table.billing_mode))
        .set_key_schema(Some(key_schema(
            &table.partition_key,
            table.sort_key.as_ref(),
        )?))
        .set_attribute_definitions(Some(attribute_definitions(
            &table.attribute_definitions(table.indexes.iter()),
        )?));
    if provisioned {
        let capacity = table
            .capacity
            .context("a PROVISIONED table needs capacity (validation should have caught this)")?;
        request = request.provisioned_throughput(throughput(capacity)?);
    }
    for index in &table.indexes {
        let mut gsi = AwsIndex::builder()
            .index_name(&index.name)
            .set_key_schema(Some(key_schema(
                &index.partition_key,
                index.sort_key.as_ref(),
            )?))
            .projection(projection(index));
        if provisioned {
            if let Some(capacity) = index.capacity {
                gsi = gsi.provisioned_throughput(throughput(capacity)?);
            }
        }
        request = request.global_secondary_indexes(gsi.build()?);
    }
    for (key, value) in &table.tags {
        request = request.tags(Tag::builder().key(key).value(value).build()?);
    }
    if !table.indexes.is_empty() {
        let mut names: Vec<&str> = table.indexes.iter().map(|i| i.name.as_str()).collect();
        names.sort_unstable();
        request = request.tags(
            Tag::builder()
                .key(CREATED_INDEXES_TAG)
                .value(names.join(","))
                .build()?,
        );
    }
    progress.status(&format!("CreateTable {}", table.name));
    match request.send().await {
        Ok(_) => {}
        // A lost reply to an earlier attempt may have created it already: then just wait.
        Err(err) if err.code() == Some("ResourceInUseException") => {
            progress.note("table already exists (an earlier attempt created it); waiting for it");
        }
        Err(err) => bail!(
            "CreateTable {} failed: {}",
            table.name,
            describe_sdk_error(&err)
        ),
    }
    wait_until_settled(aws, &table.name, None, progress).await
}

/// After a failed UpdateTable: when the table already shows the change (`made`), the call
/// went through and its reply was lost (the SDK's retry then met "already exists", "will not
/// change" or "being updated"), so carry on; otherwise the original error stands.
pub(super) async fn recover_or(
    aws: &Aws,
    table: &str,
    progress: &StepProgress,
    error: anyhow::Error,
    made: impl Fn(&LiveTable) -> bool,
) -> Result<()> {
    match read_table(aws, table).await {
        Ok(Some(live)) if made(&live) => {
            progress.note(
                "the change is already in place (an earlier attempt made it); waiting for it",
            );
            Ok(())
        }
        _ => Err(error),
    }
}

/// Waits until the table and every index are ACTIVE and nothing backfills; with `gone`, also
/// until that index has disappeared.
pub(super) async fn wait_until_settled(
    aws: &Aws,
    table: &str,
    gone: Option<&str>,
    progress: &StepProgress,
) -> Result<()> {
    wait::until(&aws.wait, progress, &format!("table {table}"), || async {
        let live = read_table(aws, table)
            .await?
            .ok_or_else(|| anyhow!("table {table} disappeared while pipectl was changing it"))?;
        if let Some(status) = live.settled() {
            return Ok(Poll::Pending(status));
        }
        if let Some(index) = gone {
            if live.indexes.iter().any(|i| i.definition.name == index) {
                return Ok(Poll::Pending(format!("index {index} still deleting")));
            }
        }
        Ok(Poll::Ready(()))
    })
    .await
}
