"""Seeds the emulator with a starting state, through the public AWS APIs (boto3), the way a
team's account would look before pipectl manages it.

  python emulator/seed.py --endpoint http://127.0.0.1:PORT before
      The seed article's "before": KafkaLogData PROVISIONED 5/5 without indexes, and
      kafka-log-lambda at Lambda's defaults (timeout 3 s, 128 MiB, no reservation, no trigger).
  python emulator/seed.py --endpoint URL function NAME [NAME ...]
      Just Lambda functions at their defaults (pipectl does not deploy code, so tests need some).
  python emulator/seed.py --endpoint URL bulk N
      N on-demand tables bench-table-NNN and N functions bench-fn-NNN (for scripts/bench-plan).
"""

from __future__ import annotations

import argparse
import io
import json
import zipfile

import boto3

TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def clients(endpoint: str, region: str):
    options = dict(
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("scenario", choices=["before", "function", "bulk"])
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    iam, lam, ddb = clients(args.endpoint, args.region)
    if args.scenario == "function":
        create_functions(iam, lam, args.names)
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


if __name__ == "__main__":
    main()
