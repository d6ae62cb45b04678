"""Seeds the emulator with a fleet for the benchmark: ACCOUNTS accounts (moto is multi-account:
assuming a role in another account gives credentials of it), each with TABLES DynamoDB tables
of one GSI (two plan resources each), and writes one stack file per account into DIR with its
`account_id`. Prints the counts as JSON.

  seed_fleet.py --endpoint URL ACCOUNTS TABLES DIR
"""

from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ThreadPoolExecutor

import boto3


def account_id(index: int) -> str:
    return f"{200000000000 + index:012d}"


def seed_account(endpoint: str, region: str, index: int, tables: int, directory: str) -> None:
    account = account_id(index)
    sts = boto3.client("sts", endpoint_url=endpoint, region_name=region,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/seeder", RoleSessionName="seed")["Credentials"]
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=region,
                       aws_access_key_id=credentials["AccessKeyId"],
                       aws_secret_access_key=credentials["SecretAccessKey"],
                       aws_session_token=credentials["SessionToken"])
    lines = [f'[stack]\nname = "logs"\nregion = "{region}"\naccount_id = "{account}"\n']
    for t in range(tables):
        name = f"fleet-table-{t:02}"
        ddb.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                                  {"AttributeName": "day", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{"IndexName": "by-day", "KeySchema": [{"AttributeName": "day", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "KEYS_ONLY"}}])
        lines.append(f'\n[[dynamodb.tables]]\nname = "{name}"\nbilling_mode = "PAY_PER_REQUEST"\n'
                     'partition_key = { name = "id", type = "S" }\n'
                     '\n[[dynamodb.tables.global_secondary_indexes]]\nname = "by-day"\n'
                     'partition_key = { name = "day", type = "S" }\nprojection = "KEYS_ONLY"\n')
    with open(os.path.join(directory, f"logs-{account}.toml"), "w") as out:
        out.write("".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("accounts", type=int)
    parser.add_argument("tables", type=int)
    parser.add_argument("directory")
    args = parser.parse_args()
    os.makedirs(args.directory, exist_ok=True)
    with ThreadPoolExecutor(max_workers=8) as pool:
        for done in pool.map(lambda i: seed_account(args.endpoint, args.region, i, args.tables, args.directory),
                             range(args.accounts)):
            del done
    print(json.dumps({"accounts": args.accounts, "resources_per_stack": args.tables * 2}))


if __name__ == "__main__":
    main()
