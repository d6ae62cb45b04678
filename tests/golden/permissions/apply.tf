# pipectl apply of stack kafka-logs (account 123456789012, region us-east-1)
data "aws_iam_policy_document" "pipectl-kafka-logs-apply" {
  statement {
    sid       = "DynamodbWriteOnTable"
    effect    = "Allow"
    actions   = ["dynamodb:ListTagsOfResource", "dynamodb:TagResource", "dynamodb:UpdateTable"]
    resources = ["arn:aws:dynamodb:us-east-1:123456789012:table/AnomalyScores", "arn:aws:dynamodb:us-east-1:123456789012:table/KafkaLogData"]
  }
  statement {
    sid       = "DynamodbWriteOnTable2"
    effect    = "Allow"
    actions   = ["dynamodb:CreateTable", "dynamodb:DescribeTable"]
    resources = ["arn:aws:dynamodb:us-east-1:123456789012:table/AnomalyScores", "arn:aws:dynamodb:us-east-1:123456789012:table/KafkaLogData", "arn:aws:dynamodb:us-east-1:123456789012:table/pipectl-locks"]
  }
  statement {
    sid       = "DynamodbWriteOnTable3"
    effect    = "Allow"
    actions   = ["dynamodb:DescribeContributorInsights", "dynamodb:UpdateContributorInsights"]
    resources = ["arn:aws:dynamodb:us-east-1:123456789012:table/KafkaLogData", "arn:aws:dynamodb:us-east-1:123456789012:table/KafkaLogData/index/AnomalyScoreIndex"]
  }
  statement {
    sid       = "DynamodbWriteOnTable4"
    effect    = "Allow"
    actions   = ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = ["arn:aws:dynamodb:us-east-1:123456789012:table/pipectl-locks"]
  }
  statement {
    sid       = "Ec2WriteOnVolume"
    effect    = "Allow"
    actions   = ["ec2:ModifyVolume"]
    resources = ["arn:aws:ec2:us-east-1:123456789012:volume/*"]
  }
  statement {
    sid       = "EksReadOnCluster"
    effect    = "Allow"
    actions   = ["eks:DescribeCluster"]
    resources = ["arn:aws:eks:us-east-1:123456789012:cluster/kafka-logs"]
  }
  statement {
    sid       = "IamWriteOnRole"
    effect    = "Allow"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["arn:aws:iam::123456789012:role/aws-service-role/contributorinsights.dynamodb.amazonaws.com/AWSServiceRoleForDynamoDBContributorInsights", "arn:aws:iam::123456789012:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"]
  }
  statement {
    sid       = "LambdaWriteOnEventSourceMapping"
    effect    = "Allow"
    actions   = ["lambda:DeleteEventSourceMapping", "lambda:GetEventSourceMapping", "lambda:ListTags", "lambda:UpdateEventSourceMapping"]
    resources = ["arn:aws:lambda:us-east-1:123456789012:event-source-mapping:*"]
  }
  statement {
    sid       = "LambdaWriteOnEventSourceMappingFunction"
    effect    = "Allow"
    actions   = ["lambda:TagResource"]
    resources = ["arn:aws:lambda:us-east-1:123456789012:event-source-mapping:*", "arn:aws:lambda:us-east-1:123456789012:function:kafka-log-lambda"]
  }
  statement {
    sid       = "LambdaWriteOnFunction"
    effect    = "Allow"
    actions   = ["lambda:DeleteFunctionConcurrency", "lambda:GetFunction", "lambda:PutFunctionConcurrency", "lambda:UpdateFunctionConfiguration"]
    resources = ["arn:aws:lambda:us-east-1:123456789012:function:kafka-log-lambda"]
  }
  statement {
    sid       = "SagemakerReadOnEndpoint"
    effect    = "Allow"
    actions   = ["sagemaker:DescribeEndpoint"]
    resources = ["arn:aws:sagemaker:us-east-1:123456789012:endpoint/rcf-anomaly-endpoint"]
  }
  statement {
    sid       = "SecretsmanagerReadOnSecret"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["arn:aws:secretsmanager:us-east-1:<<ACCOUNT_ID>>:secret:<<ADMIN_SCRAM_SECRET>>", "arn:aws:secretsmanager:us-east-1:<<ACCOUNT_ID>>:secret:<<ADMIN_SCRAM_SECRET>>-??????"]
  }
  statement {
    sid       = "Ec2DescribeActionsHaveNoResourceType"
    effect    = "Allow"
    actions   = ["ec2:DescribeVolumes", "ec2:DescribeVolumesModifications"]
    resources = ["*"]
  }
  statement {
    sid       = "LambdaActionsWithoutResourceType"
    effect    = "Allow"
    actions   = ["lambda:CreateEventSourceMapping", "lambda:GetAccountSettings", "lambda:ListEventSourceMappings"]
    resources = ["*"]
  }
  statement {
    sid       = "SageMakerListsHaveNoResourceType"
    effect    = "Allow"
    actions   = ["sagemaker:ListInferenceComponents"]
    resources = ["*"]
  }
  statement {
    sid       = "ScalableTargetIdsAreAssignedByAutoScaling"
    effect    = "Allow"
    actions   = ["application-autoscaling:DeleteScalingPolicy", "application-autoscaling:DeregisterScalableTarget", "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies", "application-autoscaling:DescribeScheduledActions", "application-autoscaling:PutScalingPolicy", "application-autoscaling:RegisterScalableTarget"]
    resources = ["*"]
  }
}
