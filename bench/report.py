"""Turns the benchmark's measurements into the table it prints and the JSON it writes.

  report.py MEASUREMENTS.jsonl OUT.json
Each line of MEASUREMENTS is one run: {"size", "counts", "run", "latency_ms", "quotas",
"parallelism", "wall_s", "cpu_s", "peak_mib", "calls", "throttled", "spans"} or an AWS CLI
sample {"size", "run": "aws-cli", "commands", "seconds_per_command", "resources"}.
"""

from __future__ import annotations

import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "emulator"))
from quotas import QUOTA_SOURCES, quota_bucket  # noqa: E402

SHARE = 0.5  # pipectl's default --api-rate-share


def bucket_of(name: str) -> tuple[str, str] | None:
    service, operation = name.split(":", 1)
    # pipectl filters DescribeVolumes, so it draws from the standard bucket.
    form = {"Filter.1.Name": "volume-id"} if service == "ec2" else {}
    bucket = quota_bucket(service, operation, form)
    if bucket is None:
        return None
    per_api = operation if bucket.startswith("ec2:") else ""
    return bucket, per_api


def quota_bound(calls: dict[str, int], share: float, latency: float) -> float:
    """Seconds the calls need at `share` of each bucket: beyond the burst, calls ÷ refill rate;
    plus the round trip no pacing can remove, the last paced call's own answer."""
    per_bucket: dict[tuple[str, str], int] = {}
    for name, count in calls.items():
        key = bucket_of(name)
        if key:
            per_bucket[key] = per_bucket.get(key, 0) + count
    worst = 0.0
    for (bucket, _), count in per_bucket.items():
        capacity, rate = QUOTA_SOURCES[bucket]
        burst = max(1.0, capacity * share)
        worst = max(worst, max(0.0, count - burst) / (rate * share))
    return worst + latency if worst > 0 else 0.0


def dependent_round_trips(spans: list[list[float]]) -> int:
    """The longest chain of calls each starting after the previous one answered."""
    spans = sorted(span[:2] for span in spans)
    chain = [1] * len(spans)
    for i, (start, _) in enumerate(spans):
        best = 0
        for j in range(i):
            if spans[j][1] <= start + 1e-4:
                best = max(best, chain[j])
        chain[i] = best + 1
    return max(chain, default=0)


def main() -> None:
    runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    sizes = sorted({r["size"] for r in runs})
    result = {"share": SHARE, "sizes": []}
    print(f"{'resources':>9} {'run':<38} {'wall s':>7} {'CPU s':>6} {'MiB':>5} {'calls':>6} {'thrott.':>7}  bound")
    for size in sizes:
        of_size = [r for r in runs if r["size"] == size]
        chain_run = next((r for r in of_size if r["run"] == "unbounded"), None)
        latency = (chain_run or of_size[0]).get("latency_ms", 25) / 1000.0
        rtt = dependent_round_trips(chain_run["spans"]) if chain_run else None
        entry = {"resources": size, "runs": [], "dependent_round_trips": rtt}
        for run in of_size:
            if run["run"] == "aws-cli":
                total = run["seconds_per_command"] * run["commands_for_stack"]
                print(f"{size:>9} {'AWS CLI, one command at a time':<38} {total:>7.1f} {'':>6} {'':>5} {run['commands_for_stack']:>6} {'':>7}  "
                      f"extrapolated from {run['sampled']} sampled commands at {run['seconds_per_command']:.2f} s each")
                entry["runs"].append({**run, "extrapolated_wall_s": total})
                continue
            calls = sum(run["calls"].values())
            throttled = sum(run["throttled"].values())
            round_trips = (rtt or 0) * latency
            quota = quota_bound(run["calls"], run.get("share", SHARE), latency) if run["quotas"] else 0.0
            # With quotas on, the wall cannot beat either bound.
            bound = max(quota, round_trips)
            label = f"{run['run']} (p={run['parallelism']}, share {run.get('share', SHARE):g}{', quotas' if run['quotas'] else ''})"
            kind = "quota" if quota > round_trips else "round trips"
            versus = f"{kind} {bound:.2f} s ({run['wall_s'] / bound:.1f}x)" if bound > 0 else "0 s"
            if run["quotas"]:
                versus += f"; quota alone {quota:.2f} s"
            print(f"{size:>9} {label:<38} {run['wall_s']:>7.2f} {run['cpu_s']:>6.2f} {run['peak_mib']:>5.0f} {calls:>6} {throttled:>7}  {versus}")
            entry["runs"].append({k: v for k, v in run.items() if k != "spans"}
                                 | {"lower_bound_s": bound, "lower_bound": kind, "quota_bound_s": quota,
                                    "round_trip_bound_s": round_trips})
        if rtt is not None:
            print(f"{size:>9} {'dependent round trips':<38} {rtt:>7} x {latency * 1000:.0f} ms = {rtt * latency:.2f} s")
        result["sizes"].append(entry)
    with open(sys.argv[2], "w") as out:
        json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()
