//! What the tables kind calls, per table of the file (the Service Authorization Reference for
//! DynamoDB: every table action has the `table` resource type; ListTables has none).

use crate::plan::permissions::{Permissions, Resource, Scope, IMPORT, READ};
use crate::spec::StackSpec;

use super::section::DynamoDbTable;

/// The resource type DynamoDB's list actions lack.
pub const LIST_TABLES: Resource = Resource::Any {
    sid: "DynamoDbListTablesHasNoResourceType",
    why: "dynamodb:ListTables has no resource type in the Service Authorization Reference",
};

pub fn permissions(spec: &StackSpec, scope: &Scope) -> Permissions {
    let mut out = Permissions::default();
    for table in spec.entries::<DynamoDbTable>() {
        let name = table.name.get_ref();
        let arn = || scope.arn("dynamodb", &format!("table/{name}"));
        let id = format!("dynamodb.table.{name}");
        out.aws("dynamodb:DescribeTable", arn(), READ);
        let from = out.aws.len();
        out.aws("dynamodb:ListTagsOfResource", arn(), READ);
        out.only_when(
            from,
            "a live table has an index the file does not list (is it one pipectl created?)",
        );
        out.aws_write("dynamodb:CreateTable", arn(), &id);
        out.aws_write("dynamodb:UpdateTable", arn(), &id);
        // Tags at creation (DynamoDB checks TagResource for CreateTable's Tags), the owner tag,
        // and the `pipectl:indexes` tag after an index is created or deleted.
        out.aws_write("dynamodb:TagResource", arn(), &id);
        let index_changes = format!("dynamodb.index.{name}/");
        out.aws_write("dynamodb:UpdateTable", arn(), &index_changes);
        out.aws_write("dynamodb:TagResource", arn(), &index_changes);
        out.aws_write("dynamodb:ListTagsOfResource", arn(), &index_changes);
    }
    if !spec.entries::<DynamoDbTable>().is_empty() {
        let from = out.aws.len();
        out.aws("dynamodb:ListTables", LIST_TABLES, IMPORT);
        out.only_when(from, "import discovers tables (--name-prefix, --tag)");
        for table in spec.entries::<DynamoDbTable>() {
            let arn = scope.arn("dynamodb", &format!("table/{}", table.name.get_ref()));
            out.aws("dynamodb:DescribeTable", arn.clone(), IMPORT);
            let from = out.aws.len();
            out.aws("dynamodb:ListTagsOfResource", arn.clone(), IMPORT);
            out.only_when(from, "import discovers tables by --tag");
            // Import writes each table's and index's Contributor Insights setting; the live
            // table's indexes are known only once it is read.
            out.aws("dynamodb:DescribeContributorInsights", arn, IMPORT);
            let indexes = scope.arn(
                "dynamodb",
                &format!("table/{}/index/*", table.name.get_ref()),
            );
            out.aws("dynamodb:DescribeContributorInsights", indexes, IMPORT);
        }
    }
    out
}
