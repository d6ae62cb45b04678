//! `-v` names every AWS API call pipectl makes, as IAM names its action
//! (`lambda:GetFunction`), so a denied call is matched to the policy statement it needs.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Logs each operation once (retries are the SDK's own `-v` lines), at info level under
/// the `pipectl::api` target.
#[derive(Debug)]
pub struct CallLog {
    /// The service's prefix in IAM actions (`application-autoscaling`, not the SDK's name).
    iam_prefix: &'static str,
}

impl CallLog {
    pub fn new(iam_prefix: &'static str) -> CallLog {
        CallLog { iam_prefix }
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "pipectl-call-log"
    }

    // Once per operation, after the operation's own settings (its Metadata) are in place.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(metadata) = cfg.load::<Metadata>() {
            tracing::info!(target: "pipectl::api", "call {}:{}", self.iam_prefix, metadata.name());
        }
        Ok(())
    }
}
