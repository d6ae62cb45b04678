//! Offline checks of `[[sagemaker.endpoints]]`: Application Auto Scaling's rules.

use super::limits;
use super::section::*;
use crate::spec::validate::*;
use crate::spec::StackSpec;

/// The kind's offline checks.
pub fn check(spec: &StackSpec, check: &mut Checker) {
    let endpoints = spec.entries::<SageMakerEndpoint>();
    for (index, endpoint) in endpoints.iter().enumerate() {
        validate_endpoint(check, endpoint, &format!("sagemaker.endpoints[{index}]"));
    }
    // Two entries for one variant would fight each other on every apply.
    check.unique_by(
        endpoints.iter().enumerate().map(|(i, e)| {
            (
                format!("{}/{}", e.endpoint.get_ref(), e.variant.get_ref()),
                e.endpoint.span(),
                format!("sagemaker.endpoints[{i}]"),
            )
        }),
        "SageMaker variant",
    );
}

fn validate_endpoint(check: &mut Checker, endpoint: &SageMakerEndpoint, base: &str) {
    for (value, key, what) in [
        (&endpoint.endpoint, "endpoint", "SageMaker endpoint name"),
        (&endpoint.variant, "variant", "SageMaker variant name"),
    ] {
        check.name_rule(
            value,
            &format!("{base}.{key}"),
            what,
            sagemaker_name,
            "1 to 63 letters, digits and '-', starting and ending with a letter or digit",
        );
    }
    check.in_range(
        &endpoint.min_capacity,
        &limits::SAGEMAKER_CAPACITY,
        &format!("{base}.min_capacity"),
    );
    check.in_range(
        &endpoint.max_capacity,
        &limits::SAGEMAKER_CAPACITY,
        &format!("{base}.max_capacity"),
    );
    let (min, max) = (
        *endpoint.min_capacity.get_ref(),
        *endpoint.max_capacity.get_ref(),
    );
    if min > max {
        check.error(
            endpoint.min_capacity.span(),
            &format!("{base}.min_capacity"),
            format!("min_capacity ({min}) is greater than max_capacity ({max})"),
            "make min_capacity less than or equal to max_capacity",
        );
    }
    let target = *endpoint.target_invocations_per_instance.get_ref();
    if !(target > 0.0 && target.is_finite()) {
        check.error(
            endpoint.target_invocations_per_instance.span(),
            &format!("{base}.target_invocations_per_instance"),
            format!("target_invocations_per_instance is {target}, but it must be above 0"),
            "set the invocations per instance per minute the autoscaler should aim for",
        );
    }
    check.optional_in_range(
        &endpoint.scale_in_cooldown_seconds,
        &limits::AUTOSCALING_COOLDOWN,
        &format!("{base}.scale_in_cooldown_seconds"),
    );
    check.optional_in_range(
        &endpoint.scale_out_cooldown_seconds,
        &limits::AUTOSCALING_COOLDOWN,
        &format!("{base}.scale_out_cooldown_seconds"),
    );
}
