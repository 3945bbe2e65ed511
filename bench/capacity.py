"""Where a large rollout binds: each part's limit, what a punch puts on it, and the company it binds at.

The load a punch puts on each part comes from the code: the cost model's requests, invocations and
capacity units per punch (bench.cost_model, the real handlers on a moto built from the template) and
the hottest partition key of each table and index in a rush (bench.key_distribution). The stack's own
limits are the template's parameter defaults. Only AWS's default quotas are typed in, below, with their
source; raise a quota and its row scales with it.

The rush: every employee clocks in within 20 minutes, so a company of N sends N / 1,200 punches a second
(four punches a day each is the day's volume; the other three are spread over their own windows). A part
binds at the company whose rush takes its whole limit.

`python -m bench.capacity` prints the table as Markdown (docs/PERFORMANCE.md holds its last output).
"""

import argparse
from collections import Counter
from dataclasses import dataclass

from bench import cost_model, key_distribution
from local_stack.template import load_template

RUSH_SECONDS = 20 * 60
COMPANY = 100_000  # the size the table shows the load at

# AWS's default quotas, us-east-1 (Service Quotas; the pages named), as of the prices' date.
QUOTAS = {
    # API Gateway quotas, "account-level throttle per Region" (HTTP APIs)
    "api_account_rps": 10_000,
    "api_account_burst": 5_000,
    # Lambda quotas, "Concurrent executions"
    "lambda_concurrency": 1_000,
    # DynamoDB service quotas, "Throughput default quotas" (on-demand: per table, and per global index)
    "table_wru": 40_000,
    "table_rru": 40_000,
    # DynamoDB, "Partitions and data distribution": one partition's most, each second
    "partition_wru": 1_000,
    "partition_rru": 3_000,
    # DynamoDB on-demand, "Initial throughput": what a new on-demand table serves at once
    "new_table_wru": 4_000,
    # SQS quotas, "Messages in flight" of a standard queue (its request rate has no stated limit)
    "sqs_in_flight": 120_000,
}


@dataclass(frozen=True)
class Row:
    part: str
    limit: str
    per_punch: str
    load: str  # at COMPANY employees, in the rush
    binds_at: float  # employees; inf when nothing in this design grows with the company
    note: str = ""


def rush_rate(employees: float) -> float:
    return employees / RUSH_SECONDS


def binds_at(limit: float, per_punch: float) -> float:
    return float("inf") if per_punch <= 0 else limit * RUSH_SECONDS / per_punch


def parameters() -> dict[str, float]:
    specs = load_template()["Parameters"]
    names = (
        "ApiThrottlingRateLimit",
        "ApiThrottlingBurstLimit",
        "ClientRateLimit",
        "WorkerMaxConcurrency",
        "WorkerBatchSize",
        "OldestPunchAgeSeconds",
    )
    return {name: float(specs[name]["Default"]) for name in names}


def rows(
    measured: cost_model.Measured, punches: int, hot: list[key_distribution.HotKey], crm_rate: float
) -> list[Row]:
    template = parameters()
    single = cost_model.per_punch(measured, batched=False)
    batched = cost_model.per_punch(measured, batched=True)
    table: list[Row] = []

    def add(
        part: str, limit: str, per_punch: str, load: float, unit: str, bound: float, note: str = ""
    ) -> None:
        table.append(Row(part, limit, per_punch, f"{load:,.1f} {unit}", bound, note))

    # HTTP API: one request a single punch, a 500th of one in a batch.
    for label, usage, mode in (
        (" (single POSTs)", single, "single"),
        (" (500-punch batches)", batched, "batched"),
    ):
        requests = usage.http_requests
        add(
            "HTTP API, a route's throttle" + label,
            f"{template['ApiThrottlingRateLimit']:.0f} req/s (burst {template['ApiThrottlingBurstLimit']:.0f}): "
            "ApiThrottlingRateLimit",
            f"{requests:g} request",
            rush_rate(COMPANY) * requests,
            "req/s",
            binds_at(template["ApiThrottlingRateLimit"], requests),
            "all callers share it: see the notes" if mode == "single" else "",
        )
    key_limit = template["ClientRateLimit"]
    add(
        "One API key at ClientRateLimit (single POSTs)",
        f"{key_limit:.0f} req/s to the ingest routes, unless the key has its own limit",
        f"{single.http_requests:g} request",
        rush_rate(COMPANY) * single.http_requests,
        "req/s",
        binds_at(key_limit, single.http_requests),
        "when every device sends with one key: give each site a key, or the shared key a limit of its own",
    )
    add(
        "HTTP API, account (single POSTs)",
        f"{QUOTAS['api_account_rps']:,} req/s (burst {QUOTAS['api_account_burst']:,}), all APIs of the Region",
        f"{single.http_requests:g} request",
        rush_rate(COMPANY) * single.http_requests,
        "req/s",
        binds_at(QUOTAS["api_account_rps"], single.http_requests),
    )
    # Lambda: the worker keeps WorkerMaxConcurrency for itself; ingest takes invocations x their time.
    ingest_seconds = measured.single.seconds / max(1, measured.single.invocations)
    pool = QUOTAS["lambda_concurrency"] - template["WorkerMaxConcurrency"]
    add(
        "Lambda concurrency, ingest (single POSTs)",
        f"{QUOTAS['lambda_concurrency']:,} a Region, less the worker's {template['WorkerMaxConcurrency']:.0f}",
        f"1 invocation of {ingest_seconds * 1000:.0f} ms",
        rush_rate(COMPANY) * ingest_seconds,
        "at once",
        binds_at(pool, ingest_seconds),
        "invocation time measured on moto, not AWS",
    )
    in_flight = template["WorkerMaxConcurrency"] * template["WorkerBatchSize"]
    add(
        "SQS, the punch queue",
        f"no stated request rate; {QUOTAS['sqs_in_flight']:,} messages in flight",
        f"{batched.sqs_requests:.2f} requests (batched), {single.sqs_requests:.2f} (single)",
        in_flight,
        "in flight at most",
        float("inf"),
        "in flight: WorkerMaxConcurrency x WorkerBatchSize, whatever the backlog; the backlog waits",
    )
    # DynamoDB: every table and index, then the hottest partition key of each.
    places = sorted((set(batched.write_units) | set(single.read_units)) - {"batch", "other"})
    for place in places:
        # the larger of the two ways to send: a request's own writes (its key's count) weigh on single POSTs
        writes = max(batched.write_units.get(place, 0), single.write_units.get(place, 0))
        reads = single.read_units.get(place, 0)
        load = max(writes / QUOTAS["table_wru"], reads / QUOTAS["table_rru"])
        add(
            f"DynamoDB {place}",
            f"{QUOTAS['table_wru']:,} WRU/s and {QUOTAS['table_rru']:,} RRU/s",
            f"{writes:g} WRU, {reads:g} RRU",
            rush_rate(COMPANY) * max(writes, reads),
            "WRU/s" if writes >= reads else "RRU/s",
            binds_at(1, load),
        )
    busiest = max(places, key=lambda place: batched.write_units.get(place, 0))
    add(
        f"DynamoDB {busiest}, new on-demand table",
        f"{QUOTAS['new_table_wru']:,} WRU/s at once; then twice the previous peak",
        f"{batched.write_units[busiest]:g} WRU",
        rush_rate(COMPANY) * batched.write_units[busiest],
        "WRU/s",
        binds_at(QUOTAS["new_table_wru"], batched.write_units[busiest]),
        "the first rushes only: DynamoDB keeps the capacity of a peak it has served",
    )
    writes_per_punch: Counter = Counter()
    for (place, _), writes in batched.key_writes.items():
        writes_per_punch[place] += writes
    for key in hot:
        units_per_write = (
            batched.write_units.get(key.where, 0) / writes_per_punch[key.where]
            if writes_per_punch[key.where]
            else 1
        )
        share = key.writes / punches * units_per_write  # WRU on this key per punch of the rush
        add(
            f"DynamoDB {key.where}, hottest key",
            f"{QUOTAS['partition_wru']:,} WRU/s a partition",
            f"{share:.4f} WRU ({key.key})",
            rush_rate(COMPANY) * share,
            "WRU/s",
            binds_at(QUOTAS["partition_wru"], share),
        )
    table.append(_api_key_reads(single))
    # The CRM: one call a punch, at CrmMaxRatePerSecond; beyond it the rush waits in the queue.
    lag = template["OldestPunchAgeSeconds"]
    add(
        f"CRM at CrmMaxRatePerSecond = {crm_rate:g}",
        f"{crm_rate:g} calls/s (its own limit)",
        "1 call (a 429 adds one, spends no attempt)",
        rush_rate(COMPANY),
        "calls/s",
        binds_at(crm_rate, 1),
        f"beyond it delivery lags by N / {crm_rate:g} - {RUSH_SECONDS} s; the OldestPunchAge alarm "
        f"({lag:.0f} s) fires beyond {crm_rate * (RUSH_SECONDS + lag):,.0f} employees",
    )
    return table


def _api_key_reads(single: cost_model.Usage) -> Row:
    """Every request reads its caller's API key: one integration key for everything is one hot key."""
    reads = single.read_units.get("ApiKeysTable", 0)
    return Row(
        "DynamoDB ApiKeysTable, one key's item (single POSTs)",
        f"{QUOTAS['partition_rru']:,} RRU/s a partition",
        f"{reads:g} RRU",
        f"{rush_rate(COMPANY) * reads:,.1f} RRU/s",
        binds_at(QUOTAS["partition_rru"], reads),
        "when every device sends with the same key",
    )


def markdown(table: list[Row]) -> str:
    lines = [
        f"| part | limit | per punch | in a {COMPANY:,}-employee rush | binds at (employees) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in sorted(table, key=lambda row: row.binds_at):
        bound = (
            "never (does not grow with the company)"
            if row.binds_at == float("inf")
            else _rounded(row.binds_at)
        )
        note = f" ({row.note})" if row.note else ""
        lines.append(f"| {row.part} | {row.limit} | {row.per_punch} | {row.load} | {bound}{note} |")
    return "\n".join(lines)


def _rounded(employees: float) -> str:
    """Two significant figures: the inputs are not more exact than that."""
    return f"{float(f'{employees:.2g}'):,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crm-rate", type=float, default=20, help="CrmMaxRatePerSecond: the CRM's own limit")
    parser.add_argument("--employees", type=int, default=1_000, help="the key-distribution rush's size")
    arguments = parser.parse_args()
    measured = cost_model.measure()
    punches, hot = key_distribution.hottest_keys(arguments.employees)
    print(markdown(rows(measured, punches, hot, arguments.crm_rate)))


if __name__ == "__main__":
    main()
