//! Contributor Insights: per table and index the file sets `contributor_insights` for (the
//! Service Authorization Reference lists the `table` and `index` resource types for both
//! actions).

use crate::plan::permissions::{Permissions, Resource, Scope, READ, WRITE};
use crate::spec::StackSpec;

pub fn permissions(spec: &StackSpec, scope: &Scope) -> Permissions {
    let mut out = Permissions::default();
    let wanted = super::desired(spec);
    for insights in &wanted {
        let resource = match &insights.index {
            Some(index) => format!("table/{}/index/{index}", insights.table),
            None => format!("table/{}", insights.table),
        };
        let arn = scope.arn("dynamodb", &resource);
        out.aws("dynamodb:DescribeContributorInsights", arn.clone(), READ);
        out.aws_write("dynamodb:UpdateContributorInsights", arn, &insights.id());
    }
    if wanted.iter().any(|w| w.enabled) {
        // DynamoDB creates its service-linked role with the caller's permission the first time
        // Contributor Insights is enabled in an account (its developer guide, "Using
        // service-linked roles for DynamoDB").
        out.aws.push(crate::plan::permissions::AwsGrant {
            action: "iam:CreateServiceLinkedRole",
            resource: Resource::Arn(format!(
                "arn:{}:iam::{}:role/aws-service-role/contributorinsights.dynamodb.amazonaws.com/AWSServiceRoleForDynamoDBContributorInsights",
                scope.partition, scope.account
            )),
            commands: WRITE,
            changes: Some(format!("{}.", super::INSIGHTS.prefix())),
            when: Some("Contributor Insights is enabled for the first time in the account"),
        });
    }
    out
}
