"""Seeds the emulator with a benchmark stack of N plan resources and writes its stack file:
Lambda functions (each with a Kafka trigger and a reservation: two resources), DynamoDB tables
(each with a GSI: two), SageMaker endpoint variants, a fifth of the rest each, plus the Kafka brokers (HPA, StorageClass, 3
volumes) on the fake Kubernetes API server. Prints the counts as JSON.

  seed_bench.py --endpoint URL --kube URL N STACK.toml
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "emulator"))
import seed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--kube", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("size", type=int)
    parser.add_argument("stack")
    args = parser.parse_args()
    brokers = 5  # HPA, StorageClass, 3 volumes
    # A function is two plan resources (with its trigger), a table two (with its index).
    functions = max(1, (args.size - brokers) // 5)
    tables = functions
    variants = max(1, args.size - brokers - 2 * functions - 2 * tables)
    iam, lam, ddb = seed.clients(args.endpoint, args.region)
    names = [f"bench-fn-{i:03}" for i in range(functions)]
    seed.create_functions(iam, lam, names)
    for name in names:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=2)
        lam.create_event_source_mapping(
            FunctionName=name, Topics=["application-logs"], StartingPosition="LATEST", BatchSize=100,
            SelfManagedEventSource={"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["b-1.kafka.internal:9092"]}})
    for i in range(tables):
        ddb.create_table(
            TableName=f"bench-table-{i:03}", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                                  {"AttributeName": "day", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{"IndexName": "by-day", "KeySchema": [{"AttributeName": "day", "KeyType": "HASH"}],
                                     "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    endpoints = [f"bench-endpoint-{i:03}" for i in range(variants)]
    seed.create_endpoints(args.endpoint, args.region, endpoints)
    seed.seed_kafka(args.endpoint, args.region, args.kube)
    with open(args.stack, "w") as out:
        out.write('[stack]\nname = "bench"\n\n[eks]\nkube_context = "fake"\nnamespace = "kafka"\n')
        out.write('\n[kafka.brokers]\nstatefulset = "kafka-broker"\nmin_replicas = 3\nmax_replicas = 10\n'
                  'target_cpu_utilization = 70\nreplication_factor = 3\nscale_down = { enabled = false }\n')
        out.write('\n[kafka.storage]\nstorage_class = "kafka-gp3"\nvolume_type = "gp3"\niops = 3000\n'
                  'throughput_mibps = 125\nencrypted = true\nvolume_size_gib = 500\n')
        for name in names:
            out.write(f'\n[[lambda.functions]]\nname = "{name}"\ntimeout_seconds = 3\nreserved_concurrency = 2\n'
                      '\n[lambda.functions.kafka_trigger]\nbootstrap_servers = ["b-1.kafka.internal:9092"]\n'
                      'topic = "application-logs"\nbatch_size = 100\nstarting_position = "LATEST"\nhealth_timeout_seconds = 0\n')
        for i in range(tables):
            out.write(f'\n[[dynamodb.tables]]\nname = "bench-table-{i:03}"\nbilling_mode = "PAY_PER_REQUEST"\n'
                      'partition_key = { name = "id", type = "S" }\n'
                      '\n[[dynamodb.tables.global_secondary_indexes]]\nname = "by-day"\n'
                      'partition_key = { name = "day", type = "S" }\nprojection = "KEYS_ONLY"\n')
        for endpoint in endpoints:
            out.write(f'\n[[sagemaker.endpoints]]\nendpoint = "{endpoint}"\nmin_capacity = 1\nmax_capacity = 4\n'
                      'target_invocations_per_instance = 100.0\n')
    print(json.dumps({"functions": functions, "tables": tables, "variants": variants, "brokers": brokers,
                      "resources": functions * 2 + tables * 2 + variants + brokers}))


if __name__ == "__main__":
    main()
