//! What the variants kind calls (the Service Authorization Reference: SageMaker's Describe
//! actions have the `endpoint`, `endpoint-config` and `model` resource types, named in lower
//! case; ListInferenceComponents and ListEndpoints have none; Application Auto Scaling's
//! `scalable-target` ARN ends in an id the service assigns at registration, and its Describe
//! actions have no resource type).

use crate::plan::permissions::{AwsGrant, Permissions, Resource, Scope, IMPORT, PLAN_ONLY, READ};
use crate::spec::StackSpec;

use super::section::SageMakerEndpoint;

const NO_RESOURCE_TYPE: Resource = Resource::Any {
    sid: "SageMakerListsHaveNoResourceType",
    why: "sagemaker:ListInferenceComponents and sagemaker:ListEndpoints have no resource type in the Service Authorization Reference",
};
const SCALABLE_TARGETS: Resource = Resource::Any {
    sid: "ScalableTargetIdsAreAssignedByAutoScaling",
    why: "Application Auto Scaling's Describe actions have no resource type, and a scalable-target ARN ends in an id the service assigns at registration (Service Authorization Reference)",
};

pub fn permissions(spec: &StackSpec, scope: &Scope) -> Permissions {
    let endpoints = spec.entries::<SageMakerEndpoint>();
    let mut out = Permissions::default();
    if endpoints.is_empty() {
        // A stack without endpoints still looks for the scaling policies it may have left
        // behind (docs/operations.md, "Leftovers"); refused, that is a note.
        out.aws(
            "application-autoscaling:DescribeScalingPolicies",
            SCALABLE_TARGETS,
            READ,
        );
        out.only_when(
            0,
            "looking for scaling policies this stack left behind (without it: a note)",
        );
        return out;
    }
    endpoint_reads(&mut out, endpoints, scope);
    scaling(&mut out, scope);
    out
}

/// SageMaker: each endpoint, its config and model, its inference components.
fn endpoint_reads(out: &mut Permissions, endpoints: &[SageMakerEndpoint], scope: &Scope) {
    for endpoint in endpoints {
        let endpoint_arn = || {
            scope.arn(
                "sagemaker",
                &format!(
                    "endpoint/{}",
                    endpoint.endpoint.get_ref().to_ascii_lowercase()
                ),
            )
        };
        out.aws("sagemaker:DescribeEndpoint", endpoint_arn(), READ);
        out.aws("sagemaker:DescribeEndpoint", endpoint_arn(), IMPORT);
        let from = out.aws.len();
        out.aws("sagemaker:ListTags", endpoint_arn(), IMPORT);
        out.only_when(from, "import discovers endpoints by --tag");
    }
    // The endpoint's config and model are named in DescribeEndpoint's answer, not in the file.
    let configs = || scope.arn("sagemaker", "endpoint-config/*");
    let models = || scope.arn("sagemaker", "model/*");
    if endpoints.iter().any(|e| e.multi_model) {
        let from = out.aws.len();
        out.aws("sagemaker:DescribeEndpointConfig", configs(), READ);
        out.aws("sagemaker:DescribeModel", models(), READ);
        out.only_when(
            from,
            "an endpoint is declared multi_model (its model's mode is checked)",
        );
    }
    let from = out.aws.len();
    out.aws("sagemaker:DescribeEndpointConfig", configs(), PLAN_ONLY);
    out.only_when(
        from,
        "the plan is priced (not --no-cost): the variant's instance type",
    );
    out.aws("sagemaker:ListInferenceComponents", NO_RESOURCE_TYPE, READ);
    // Import reads what a plan reads, and checks each variant's model for multi-model.
    out.aws(
        "sagemaker:ListInferenceComponents",
        NO_RESOURCE_TYPE,
        IMPORT,
    );
    out.aws("sagemaker:DescribeEndpointConfig", configs(), IMPORT);
    out.aws("sagemaker:DescribeModel", models(), IMPORT);
    let from = out.aws.len();
    out.aws("sagemaker:ListEndpoints", NO_RESOURCE_TYPE, IMPORT);
    out.only_when(from, "import discovers endpoints (--name-prefix, --tag)");
}

/// Application Auto Scaling: the variants' scalable targets, policies and scheduled actions,
/// and the service-linked role its first registration creates.
fn scaling(out: &mut Permissions, scope: &Scope) {
    for action in [
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingPolicies",
        "application-autoscaling:DescribeScheduledActions",
    ] {
        out.aws(action, SCALABLE_TARGETS, READ);
        out.aws(action, SCALABLE_TARGETS, IMPORT);
    }
    for action in [
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:DeleteScalingPolicy",
        "application-autoscaling:DeregisterScalableTarget",
    ] {
        out.aws_write(action, SCALABLE_TARGETS, "sagemaker.variant.");
    }
    // Application Auto Scaling creates its service-linked role for SageMaker with the caller's
    // permission at the account's first registration (its user guide, "Service-linked roles").
    out.aws.push(AwsGrant {
        action: "iam:CreateServiceLinkedRole",
        resource: Resource::Arn(format!(
            "arn:{}:iam::{}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
            scope.partition, scope.account
        )),
        commands: crate::plan::permissions::WRITE,
        changes: Some("sagemaker.variant.".to_string()),
        when: Some("the account registers its first SageMaker scalable target"),
    });
}
