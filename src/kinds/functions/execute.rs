//! Carrying out a function's operations: one function per call, each followed by its wait (the
//! Kafka mapping's calls and waits are in trigger.rs).

use super::*;

pub async fn execute(
    aws: &Aws,
    operation: &FunctionOperation,
    progress: &StepProgress,
) -> Result<()> {
    match operation {
        FunctionOperation::UpdateConfiguration {
            function,
            timeout_seconds,
            memory_mib,
        } => update_configuration(aws, function, *timeout_seconds, *memory_mib, progress).await,
        FunctionOperation::PutConcurrency { function, reserved } => {
            put_concurrency(aws, function, *reserved, progress).await
        }
        FunctionOperation::DeleteConcurrency { function } => {
            delete_concurrency(aws, function, progress).await
        }
        FunctionOperation::TagOwner {
            function,
            arn,
            stack,
        } => tag_owner(aws, function, arn, stack).await,
        FunctionOperation::CreateMapping { function, trigger } => {
            create_mapping(aws, function, trigger, progress).await
        }
        FunctionOperation::UpdateMapping {
            function,
            uuid,
            batch_size,
            batching_window_seconds,
            access,
            health_timeout_seconds,
            pollers,
        } => {
            let update = MappingUpdate {
                function,
                uuid,
                batch_size: *batch_size,
                batching_window_seconds: *batching_window_seconds,
                access: access.as_deref(),
                pollers: *pollers,
            };
            update_mapping(aws, &update, progress).await?;
            wait_until_healthy(aws, uuid, *health_timeout_seconds, progress).await
        }
        FunctionOperation::DeleteMapping { function, uuid } => {
            delete_mapping(aws, function, uuid, progress).await
        }
    }
}

pub(super) async fn put_concurrency(
    aws: &Aws,
    function: &str,
    reserved: i64,
    progress: &StepProgress,
) -> Result<()> {
    progress.status(&format!("PutFunctionConcurrency {reserved}"));
    let reserved = i32::try_from(reserved)
        .map_err(|_| anyhow!("reserved concurrency {reserved} is too large"))?;
    aws.lambda
        .put_function_concurrency()
        .function_name(function)
        .reserved_concurrent_executions(reserved)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "PutFunctionConcurrency {function} failed: {}",
                describe_sdk_error(&e)
            )
        })?;
    Ok(())
}

pub(super) async fn delete_concurrency(
    aws: &Aws,
    function: &str,
    progress: &StepProgress,
) -> Result<()> {
    progress.status("DeleteFunctionConcurrency");
    aws.lambda
        .delete_function_concurrency()
        .function_name(function)
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "DeleteFunctionConcurrency {function} failed: {}",
                describe_sdk_error(&e)
            )
        })?;
    Ok(())
}

/// The fields of a mapping an update changes (only those, and only fields valid for Kafka).
pub(super) struct MappingUpdate<'a> {
    function: &'a str,
    uuid: &'a str,
    batch_size: Option<i64>,
    batching_window_seconds: Option<i64>,
    access: Option<&'a [(String, String)]>,
    pollers: Option<(Option<i64>, Option<i64>)>,
}

/// UpdateEventSourceMapping once the mapping is settled, then the wait until it is again.
pub(super) async fn update_mapping(
    aws: &Aws,
    update: &MappingUpdate<'_>,
    progress: &StepProgress,
) -> Result<()> {
    let uuid = update.uuid;
    wait_for_mapping(aws, uuid, false, progress).await?;
    progress.status(&format!("UpdateEventSourceMapping {uuid}"));
    let sent = aws
        .lambda
        .update_event_source_mapping()
        .uuid(uuid)
        .set_batch_size(update.batch_size.map(to_i32).transpose()?)
        .set_maximum_batching_window_in_seconds(
            update.batching_window_seconds.map(to_i32).transpose()?,
        )
        .set_source_access_configurations(update.access.map(source_access))
        .set_provisioned_poller_config(
            update
                .pollers
                .map(|(min, max)| poller_config(min, max))
                .transpose()?,
        )
        .send()
        .await;
    match sent {
        Ok(_) => {}
        // A lost reply: the retry meets the mapping `Updating` with our values.
        Err(e) if e.code() == Some("ResourceInUseException") => {
            wait_for_mapping(aws, uuid, false, progress).await?;
            let now = get_mapping(aws, uuid).await?;
            let made = update
                .batch_size
                .is_none_or(|b| now.batch_size().map(i64::from) == Some(b))
                && update.batching_window_seconds.is_none_or(|w| {
                    now.maximum_batching_window_in_seconds().map(i64::from) == Some(w)
                });
            if !made {
                bail!(
                    "UpdateEventSourceMapping {uuid} ({}) failed: {}",
                    update.function,
                    describe_sdk_error(&e)
                );
            }
            progress.note("the update is already made (an earlier attempt sent it)");
        }
        Err(e) => bail!(
            "UpdateEventSourceMapping {uuid} ({}) failed: {}",
            update.function,
            describe_sdk_error(&e)
        ),
    }
    wait_for_mapping(aws, uuid, false, progress).await
}

/// DeleteEventSourceMapping once the mapping is settled, then the wait until it is gone.
pub(super) async fn delete_mapping(
    aws: &Aws,
    function: &str,
    uuid: &str,
    progress: &StepProgress,
) -> Result<()> {
    wait_for_mapping(aws, uuid, false, progress).await?;
    progress.status(&format!("DeleteEventSourceMapping {uuid}"));
    match aws
        .lambda
        .delete_event_source_mapping()
        .uuid(uuid)
        .send()
        .await
    {
        Ok(_) => {}
        Err(err) if err.code() == Some("ResourceNotFoundException") => return Ok(()),
        // A lost reply: the retry meets the mapping already `Deleting`.
        Err(err)
            if err.code() == Some("ResourceInUseException")
                && mapping_state(aws, uuid).await.as_deref() == Some("Deleting") => {}
        Err(err) => bail!(
            "DeleteEventSourceMapping {uuid} ({function}) failed: {}",
            describe_sdk_error(&err)
        ),
    }
    wait_for_mapping(aws, uuid, true, progress).await
}

pub(super) async fn update_configuration(
    aws: &Aws,
    function: &str,
    timeout: Option<i64>,
    memory: Option<i64>,
    progress: &StepProgress,
) -> Result<()> {
    // Another update may still be running (ours from a killed run, or someone else's).
    wait_for_function(aws, function, progress).await?;
    let mut attempts = 0;
    loop {
        progress.status("UpdateFunctionConfiguration");
        let result = aws
            .lambda
            .update_function_configuration()
            .function_name(function)
            .set_timeout(timeout.map(to_i32).transpose()?)
            .set_memory_size(memory.map(to_i32).transpose()?)
            .send()
            .await;
        match result {
            Ok(_) => break,
            // An update started between our read and our call: wait for it, then try again.
            Err(err) if err.code() == Some("ResourceConflictException") && attempts < 5 => {
                attempts += 1;
                progress.note("another update is in progress (ResourceConflictException); waiting, then retrying");
                wait_for_function(aws, function, progress).await?;
            }
            Err(err) => bail!(
                "UpdateFunctionConfiguration {function} failed: {}",
                describe_sdk_error(&err)
            ),
        }
    }
    wait_for_function(aws, function, progress).await
}

/// Waits until `LastUpdateStatus` is no longer `InProgress`; `Failed` is an error with AWS's reason.
/// Polls GetFunction, which carries the same configuration in Lambda's 100-per-second bucket,
/// not GetFunctionConfiguration, which would spend the 15-per-second control-plane quota.
pub(super) async fn wait_for_function(
    aws: &Aws,
    function: &str,
    progress: &StepProgress,
) -> Result<()> {
    wait::until(
        &aws.wait,
        progress,
        &format!("function {function}"),
        || async {
            let described = aws
                .lambda
                .get_function()
                .function_name(function)
                .send()
                .await
                .map_err(|e| {
                    anyhow!("GetFunction {function} failed: {}", describe_sdk_error(&e))
                })?;
            let output = described
                .configuration()
                .ok_or_else(|| anyhow!("GetFunction {function} returned no configuration"))?;
            let status = output
                .last_update_status()
                .map(|s| s.as_str())
                .unwrap_or("Successful");
            match status {
                "InProgress" => Ok(Poll::Pending("LastUpdateStatus InProgress".into())),
                "Failed" => bail!(
                    "the update of {function} failed: {} ({})",
                    output
                        .last_update_status_reason()
                        .unwrap_or("no reason given"),
                    output
                        .last_update_status_reason_code()
                        .map(|c| c.as_str())
                        .unwrap_or("no reason code")
                ),
                _ => Ok(Poll::Ready(())),
            }
        },
    )
    .await
}

/// Moves the function's `pipectl:stack` tag to the stack that took it over.
async fn tag_owner(aws: &Aws, function: &str, arn: &str, stack: &str) -> Result<()> {
    aws.lambda
        .tag_resource()
        .resource(arn)
        .tags(STACK_TAG, stack)
        .send()
        .await
        .map_err(|e| anyhow!("TagResource {function} failed: {}", describe_sdk_error(&e)))?;
    Ok(())
}
