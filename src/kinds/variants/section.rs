//! `[[sagemaker.endpoints]]`: this kind's part of the stack file.

use serde::Deserialize;
use toml::Spanned;

use crate::spec::Section;

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SageMakerEndpoint {
    #[schemars(with = "String")]
    pub endpoint: Spanned<String>,
    #[serde(default = "default_variant")]
    #[schemars(with = "String")]
    pub variant: Spanned<String>,
    #[schemars(with = "i64")]
    pub min_capacity: Spanned<i64>,
    #[schemars(with = "i64")]
    pub max_capacity: Spanned<i64>,
    #[schemars(with = "f64")]
    pub target_invocations_per_instance: Spanned<f64>,
    #[schemars(with = "Option<i64>")]
    pub scale_in_cooldown_seconds: Option<Spanned<i64>>,
    #[schemars(with = "Option<i64>")]
    pub scale_out_cooldown_seconds: Option<Spanned<i64>>,
    #[serde(default)]
    pub multi_model: bool,
    /// The target-tracking policy's name. Absent: `pipectl-STACK-invocations`. A policy made by
    /// hand (e.g. under the name AWS's guide uses) is adopted by naming it here.
    #[schemars(with = "Option<String>")]
    pub policy_name: Option<Spanned<String>>,
}

fn default_variant() -> Spanned<String> {
    Spanned::new(0..0, "AllTraffic".to_string())
}
impl Section for SageMakerEndpoint {
    const PATH: &'static [&'static str] = &["sagemaker", "endpoints"];
    const LIST: bool = true;
}
