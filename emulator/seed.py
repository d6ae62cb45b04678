"""Seeds the emulator with a starting state, through the public AWS APIs (boto3), the way a
team's account would look before pipectl manages it.

  python emulator/seed.py --endpoint http://127.0.0.1:PORT before
      The seed article's "before": KafkaLogData PROVISIONED 5/5 without indexes, and
      kafka-log-lambda at Lambda's defaults (timeout 3 s, 128 MiB, no reservation, no trigger).
  python emulator/seed.py --endpoint URL function NAME [NAME ...]
      Just Lambda functions at their defaults (pipectl does not deploy code, so tests need some).
  python emulator/seed.py --endpoint URL bulk N
      N on-demand tables bench-table-NNN and N functions bench-fn-NNN (for scripts/bench-plan).
  python emulator/seed.py --endpoint URL --kube URL kafka
      The Kafka brokers as a team runs them before pipectl: EKS cluster kafka-logs; in namespace
      kafka the StatefulSet kafka-broker (3 replicas, volumeClaimTemplate "data" of class
      kafka-gp3, 500Gi) with its claims bound to three 500 GiB gp3 EBS volumes at the gp3
      baseline (3000 IOPS, 125 MiB/s); StorageClass kafka-gp3 at that baseline; and the seed
      article's HPA (autoscaling/v2, 3..10 at 70% CPU, default scale-down).
  python emulator/seed.py --endpoint URL sagemaker NAME [NAME ...]
      InService SageMaker endpoints (variant AllTraffic, one ml.m5.large instance).
  python emulator/seed.py --endpoint URL sagemaker-serverless NAME [NAME ...]
      Serverless endpoints (variant AllTraffic with a ServerlessConfig).
  python emulator/seed.py --endpoint URL sagemaker-inference-components NAME [NAME ...]
      Endpoints whose variant AllTraffic hosts one inference component (NAME-component).
  python emulator/seed.py --endpoint URL sagemaker-multi-model NAME [NAME ...]
      The same, with the model's container in Mode=MultiModel.
      `before` also does `kafka` (when --kube is given) and `sagemaker rcf-anomaly-endpoint`,
      and writes 14 days of CloudWatch metrics (`usage`) for the plan's cost.
  python emulator/seed.py --endpoint URL usage
      The last 14 days of use, one datapoint a day: kafka-log-lambda 2,000,000 invocations of
      120 ms; KafkaLogData 200,000 read and 300,000 write capacity units consumed.
"""

from __future__ import annotations

import argparse
import io
import json
import urllib.request
import zipfile
from datetime import datetime, timedelta, timezone

import boto3

TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


# The keys every client signs with: the default account's, or (--role-arn) a role's in another
# account, so a fleet's accounts can each be seeded (moto keeps a backend per account).
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def assume(endpoint: str, region: str, role_arn: str) -> None:
    """Signs every later client with the role's credentials (moto creates the role on demand
    for an assumption made with the default account's keys)."""
    sts = boto3.client("sts", endpoint_url=endpoint, region_name=region, **CREDENTIALS)
    keys = sts.assume_role(RoleArn=role_arn, RoleSessionName="seed")["Credentials"]
    CREDENTIALS.update(aws_access_key_id=keys["AccessKeyId"], aws_secret_access_key=keys["SecretAccessKey"],
                       aws_session_token=keys["SessionToken"])


def clients(endpoint: str, region: str):
    options = dict(endpoint_url=endpoint, region_name=region, **CREDENTIALS)
    return boto3.client("iam", **options), boto3.client("lambda", **options), boto3.client("dynamodb", **options)


def create_functions(iam, lam, names: list[str]) -> None:
    try:
        role = iam.create_role(RoleName="kafka-log-lambda-role", AssumeRolePolicyDocument=TRUST_POLICY)["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName="kafka-log-lambda-role")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("handler.py", "def handle(event, context):\n    return len(event.get('records', {}))\n")
    for name in names:
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="handler.handle",
            Code={"ZipFile": archive.getvalue()},
        )


def client(service: str, endpoint: str, region: str):
    return boto3.client(service, endpoint_url=endpoint, region_name=region, **CREDENTIALS)


def create_endpoints(endpoint: str, region: str, names: list[str], mode: str = "SingleModel",
                     serverless: bool = False, inference_component: bool = False) -> None:
    sm = client("sagemaker", endpoint, region)
    for name in names:
        sm.create_model(
            ModelName=f"{name}-model",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker-execution",
            PrimaryContainer={"Image": "382416733822.dkr.ecr.us-east-1.amazonaws.com/randomcutforest:1",
                              "ModelDataUrl": f"s3://models/{name}/model.tar.gz", "Mode": mode},
        )
        variant = {"VariantName": "AllTraffic", "ModelName": f"{name}-model"}
        if serverless:
            variant["ServerlessConfig"] = {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
        else:
            variant.update({"InitialInstanceCount": 1, "InstanceType": "ml.m5.large"})
        sm.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=[variant])
        sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
        if inference_component:
            sm.create_inference_component(
                InferenceComponentName=f"{name}-component", EndpointName=name, VariantName="AllTraffic",
                Specification={"ModelName": f"{name}-model",
                               "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 1024,
                                                               "NumberOfCpuCoresRequired": 1}},
                RuntimeConfig={"CopyCount": 1},
            )


def kube_seed(kube: str, objects: list[dict]) -> None:
    request = urllib.request.Request(f"{kube}/_fake/seed", data=json.dumps(objects).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request) as response:
        response.read()


# The brokers as Lambda's pollers reach them (stacks/kafka-logs.toml): self-managed Kafka on EKS,
# exposed inside the cluster's VPC on the SASL/SCRAM listener.
BOOTSTRAP_SERVERS = [f"kafka-broker-{i}.kafka-logs.internal:9096" for i in range(3)]
# The brokers' topic-admin user. The test kit's Kafka broker double is started with the same
# credentials (tests/common, scripts/demo); a test password, never a real one.
KAFKA_ADMIN_USER = "pipectl-admin"
KAFKA_ADMIN_PASSWORD = "kafka-double-admin-password"


def seed_network(endpoint: str, region: str) -> dict:
    """The cluster's VPC: two private subnets and the security group Lambda's pollers use. The
    emulator is told the brokers are private to this VPC and require SASL/SCRAM-512. Returns
    the ids (stacks/kafka-logs.toml holds placeholders for them)."""
    ec2 = client("ec2", endpoint, region)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{region}{zone}",
                                 TagSpecifications=[{"ResourceType": "subnet", "Tags": [
                                     {"Key": "Name", "Value": f"kafka-logs-private-{zone}"}]}])["Subnet"]["SubnetId"]
               for i, zone in ((1, "a"), (2, "b"))]
    group = ec2.create_security_group(VpcId=vpc, GroupName="kafka-lambda-pollers",
                                      Description="Lambda's Kafka pollers")["GroupId"]
    brokers = {server: {"vpc": vpc, "auth": "SASL_SCRAM_512_AUTH"} for server in BOOTSTRAP_SERVERS}
    request = urllib.request.Request(f"{endpoint}/_emulator/config", data=json.dumps({"kafka_brokers": brokers}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request) as response:
        response.read()
    secrets = client("secretsmanager", endpoint, region)
    admin_secret = secrets.create_secret(
        Name="kafka-logs/admin-scram",
        SecretString=json.dumps({"username": KAFKA_ADMIN_USER, "password": KAFKA_ADMIN_PASSWORD}))["ARN"]
    return {"vpc": vpc, "subnets": subnets, "security_group": group, "admin_secret": admin_secret}


def seed_kafka(endpoint: str, region: str, kube: str, brokers: int = 3) -> dict:
    network = seed_network(endpoint, region)
    eks = client("eks", endpoint, region)
    eks.create_cluster(
        name="kafka-logs",
        roleArn="arn:aws:iam::123456789012:role/eks-cluster",
        resourcesVpcConfig={"subnetIds": network["subnets"], "securityGroupIds": [network["security_group"]]},
    )
    ec2 = client("ec2", endpoint, region)
    objects: list[dict] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kafka"}},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
         "metadata": {"name": "kafka-gp3"}, "provisioner": "ebs.csi.aws.com",
         "parameters": {"type": "gp3", "iops": "3000", "throughput": "125", "encrypted": "true"},
         "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": True},
        {"apiVersion": "apps/v1", "kind": "StatefulSet",
         "metadata": {"name": "kafka-broker", "namespace": "kafka"},
         "spec": {"replicas": brokers, "serviceName": "kafka-broker",
                  "selector": {"matchLabels": {"app": "kafka-broker"}},
                  "template": {"metadata": {"labels": {"app": "kafka-broker"}},
                               "spec": {"containers": [{"name": "kafka", "image": "apache/kafka:3.9.0",
                                                        "resources": {"requests": {"cpu": "2", "memory": "8Gi"}}}]}},
                  "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "kafka-gp3",
                                                     "resources": {"requests": {"storage": "500Gi"}}}}]},
         "status": {"replicas": brokers, "readyReplicas": brokers}},
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
         "metadata": {"name": "kafka-broker-hpa", "namespace": "kafka"},
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "kafka-broker"},
                  "minReplicas": 3, "maxReplicas": 10,
                  "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}},
    ]
    for ordinal in range(brokers):
        volume = ec2.create_volume(AvailabilityZone=f"{region}a", Size=500, VolumeType="gp3", Iops=3000,
                                   Throughput=125, Encrypted=True)["VolumeId"]
        claim = f"data-kafka-broker-{ordinal}"
        pv = f"pvc-{ordinal:08d}-kafka"
        objects.append({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv},
                        "spec": {"capacity": {"storage": "500Gi"}, "accessModes": ["ReadWriteOnce"],
                                 "storageClassName": "kafka-gp3", "persistentVolumeReclaimPolicy": "Delete",
                                 "claimRef": {"namespace": "kafka", "name": claim},
                                 "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": volume, "fsType": "ext4"}},
                        "status": {"phase": "Bound"}})
        objects.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                        "metadata": {"name": claim, "namespace": "kafka", "labels": {"app": "kafka-broker"}},
                        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "kafka-gp3",
                                 "resources": {"requests": {"storage": "500Gi"}}, "volumeName": pv},
                        "status": {"phase": "Bound", "capacity": {"storage": "500Gi"}}})
    # The cluster runs the metrics server, which a CPU-based HPA needs (EKS has none by default),
    # and the Prometheus Operator as kube-prometheus-stack installs it: its Prometheus selects
    # PrometheusRules labelled with the Helm release (ruleSelectorNilUsesHelmValues), in every
    # namespace, and its validating webhook checks each rule (promtool stands in for it).
    request = urllib.request.Request(f"{kube}/_fake/config",
                                     data=json.dumps({"metrics_api": True, "prometheus_operator": True,
                                                      "prometheus_rule_webhook": True}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request) as response:
        response.read()
    objects.append({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
                    "metadata": {"name": "kube-prometheus-stack-prometheus", "namespace": "monitoring"},
                    "spec": {"ruleSelector": {"matchLabels": {"release": "kube-prometheus-stack"}},
                             "ruleNamespaceSelector": {}}})
    kube_seed(kube, objects)
    return network


# A day of the seed article's pipeline (emulator/seed.py usage): what CloudWatch would hold.
DAILY_USE = [
    ("AWS/Lambda", "Invocations", [("FunctionName", "kafka-log-lambda")], 2_000_000),
    ("AWS/Lambda", "Duration", [("FunctionName", "kafka-log-lambda")], 2_000_000 * 120),
    ("AWS/DynamoDB", "ConsumedReadCapacityUnits", [("TableName", "KafkaLogData")], 200_000),
    ("AWS/DynamoDB", "ConsumedWriteCapacityUnits", [("TableName", "KafkaLogData")], 300_000),
]


def seed_usage(endpoint: str, region: str, days: int = 14) -> None:
    """One datapoint a day for the last `days` days (each an hour after midnight UTC, so every
    one is inside a window of whole days ending today), as services publish them."""
    cloudwatch = client("cloudwatch", endpoint, region)
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    for day in range(1, days + 1):
        at = today - timedelta(days=day) + timedelta(hours=1)
        for namespace, metric, dimensions, value in DAILY_USE:
            cloudwatch.put_metric_data(
                Namespace=namespace,
                MetricData=[{
                    "MetricName": metric,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions],
                    "Timestamp": at,
                    "Value": value,
                }],
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--kube", default=None, help="the fake Kubernetes API server's URL")
    parser.add_argument("--role-arn", default=None, help="seed another account: assume this role first")
    parser.add_argument("scenario", choices=["before", "function", "bulk", "kafka", "sagemaker", "sagemaker-multi-model",
                                             "sagemaker-serverless", "sagemaker-inference-components", "usage"])
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    if args.role_arn:
        assume(args.endpoint, args.region, args.role_arn)
    iam, lam, ddb = clients(args.endpoint, args.region)
    if args.scenario == "function":
        create_functions(iam, lam, args.names)
        return
    if args.scenario == "kafka":
        print(json.dumps(seed_kafka(args.endpoint, args.region, args.kube)))
        return
    if args.scenario == "usage":
        seed_usage(args.endpoint, args.region)
        return
    if args.scenario == "sagemaker":
        create_endpoints(args.endpoint, args.region, args.names)
        return
    if args.scenario == "sagemaker-multi-model":
        create_endpoints(args.endpoint, args.region, args.names, mode="MultiModel")
        return
    if args.scenario == "sagemaker-serverless":
        create_endpoints(args.endpoint, args.region, args.names, serverless=True)
        return
    if args.scenario == "sagemaker-inference-components":
        create_endpoints(args.endpoint, args.region, args.names, inference_component=True)
        return
    if args.scenario == "bulk":
        count = int(args.names[0])
        create_functions(iam, lam, [f"bench-fn-{i:03}" for i in range(count)])
        for i in range(count):
            ddb.create_table(
                TableName=f"bench-table-{i:03}",
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            )
        return
    create_functions(iam, lam, ["kafka-log-lambda"])
    create_endpoints(args.endpoint, args.region, ["rcf-anomaly-endpoint"])
    if args.kube:
        print(json.dumps(seed_kafka(args.endpoint, args.region, args.kube)))
    ddb.create_table(
        TableName="KafkaLogData",
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        AttributeDefinitions=[
            {"AttributeName": "logId", "AttributeType": "S"},
            {"AttributeName": "timestamp", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "logId", "KeyType": "HASH"},
            {"AttributeName": "timestamp", "KeyType": "RANGE"},
        ],
    )
    seed_usage(args.endpoint, args.region)


if __name__ == "__main__":
    main()
