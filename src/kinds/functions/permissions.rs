//! What the functions kind calls (the Service Authorization Reference for Lambda: function
//! actions have the `function` resource type; the event-source-mapping actions Get, Update,
//! Delete, TagResource and ListTags have `eventSourceMapping`, whose ARN ends in a UUID Lambda
//! assigns; CreateEventSourceMapping, ListEventSourceMappings, ListFunctions and
//! GetAccountSettings have none).

use crate::plan::permissions::{Permissions, Resource, Scope, EVERY, IMPORT, READ};
use crate::spec::StackSpec;

use super::section::LambdaFunction;

const NO_RESOURCE_TYPE: Resource = Resource::Any {
    sid: "LambdaActionsWithoutResourceType",
    why: "lambda:ListEventSourceMappings, lambda:CreateEventSourceMapping, lambda:GetAccountSettings and lambda:ListFunctions have no resource type in the Service Authorization Reference",
};

pub fn permissions(spec: &StackSpec, scope: &Scope) -> Permissions {
    let functions = spec.entries::<LambdaFunction>();
    let mut out = Permissions::default();
    if functions.is_empty() {
        return out;
    }
    // A mapping's ARN ends in the UUID Lambda gives it when it is created: the account's
    // mappings in this region, as narrow as IAM allows before the mapping exists.
    let mappings = || scope.arn("lambda", "event-source-mapping:*");
    out.aws("lambda:ListEventSourceMappings", NO_RESOURCE_TYPE, EVERY);
    for function in functions {
        let name = function.name.get_ref();
        let arn = || scope.arn("lambda", &format!("function:{name}"));
        let id = format!("lambda.function.{name}");
        out.aws("lambda:GetFunction", arn(), EVERY);
        out.aws_write("lambda:UpdateFunctionConfiguration", arn(), &id);
        out.aws_write("lambda:PutFunctionConcurrency", arn(), &id);
        out.aws_write("lambda:DeleteFunctionConcurrency", arn(), &id);
        out.aws_write("lambda:TagResource", arn(), &id);
        let from = out.aws.len();
        out.aws("lambda:ListTags", arn(), IMPORT);
        out.only_when(from, "import discovers functions by --tag");
        if function.kafka_trigger.is_some() {
            let trigger = format!("lambda.kafka_trigger.{name}");
            let from = out.aws.len();
            out.aws("lambda:ListTags", mappings(), READ);
            out.only_when(
                from,
                "a live mapping a plan could replace (who created it?)",
            );
            out.aws_write(
                "lambda:CreateEventSourceMapping",
                NO_RESOURCE_TYPE,
                &trigger,
            );
            // Lambda checks TagResource for the tags CreateEventSourceMapping carries.
            out.aws_write("lambda:TagResource", mappings(), &trigger);
            out.aws_write("lambda:GetEventSourceMapping", mappings(), &trigger);
            out.aws_write("lambda:UpdateEventSourceMapping", mappings(), &trigger);
            out.aws_write("lambda:DeleteEventSourceMapping", mappings(), &trigger);
        }
    }
    if functions.iter().any(|f| f.reserved_concurrency.is_some()) {
        out.aws("lambda:GetAccountSettings", NO_RESOURCE_TYPE, READ);
    }
    let from = out.aws.len();
    out.aws("lambda:ListFunctions", NO_RESOURCE_TYPE, IMPORT);
    out.only_when(from, "import discovers functions (--name-prefix, --tag)");
    out
}
