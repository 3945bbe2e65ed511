"""Which partition keys a morning rush writes, and how hard, at a burst of 5,000 punches a second.

A rush (every employee clocking in within 20 minutes across the devices, then out for a break, back, and
out in the evening) goes through the real ingest handler in 500-punch batches and the real worker, on an
in-process moto provisioned from the template. Every DynamoDB write is recorded with the partition key
it lands on, in the table and in each index the template defines (bench.dynamodb_units). A key's share
of all the punches' writes, times the burst rate, is the rate it would take: DynamoDB serves about 1,000
write units a second per partition, and the design keeps every key under 500.

`python -m bench.key_distribution --employees 100000` runs it at full size (about 25 minutes here);
`make bench` and the tests run it smaller.
"""

import argparse
import gzip
import json
import random
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from bench.cost_model import deliver_all, local_functions, post

BURST_PER_SECOND = 5_000
KEY_LIMIT_PER_SECOND = 500
BATCH = 500
# (type, start of its 20-minute window): in, a break and back, out
SHIFT = (("in", "07:50"), ("break_out", "12:00"), ("break_in", "12:30"), ("out", "17:00"))


@dataclass(frozen=True)
class HotKey:
    where: str  # table, or table/index
    key: str
    writes: int  # to this key during the rush
    per_second: float  # at a burst of BURST_PER_SECOND punches a second


def rush(employees: int, devices: int, day: date, seed: int = 7) -> list[dict[str, str]]:
    """Every employee's four punches, each at a random second of its 20-minute window, on its device."""
    draw = random.Random(seed)
    punches = []
    for employee in range(employees):
        for kind, start in SHIFT:
            at = datetime.fromisoformat(f"{day}T{start}:00") + timedelta(seconds=draw.randrange(20 * 60))
            punches.append(
                {
                    "deviceId": f"DEV{employee % devices:03d}",
                    "userId": f"E{employee:06d}",
                    "timestamp": at.isoformat(),
                    "type": kind,
                }
            )
    punches.sort(key=lambda punch: punch["timestamp"])  # as they happen
    return punches


def hottest_keys(employees: int, devices: int = 400, day: date | None = None) -> tuple[int, list[HotKey]]:
    """The rush of `day` (default: yesterday) through ingest and delivery; the hottest key of every table and
    index written."""
    punches = rush(employees, devices, day or date.today() - timedelta(days=1))
    with local_functions() as local, local.recorder.measuring() as usage:
        for start in range(0, len(punches), BATCH):
            body = gzip.compress(json.dumps({"punches": punches[start : start + BATCH]}).encode())
            reply = post("/punches", body, {"content-encoding": "gzip"})
            if reply["statusCode"] != 200:
                raise RuntimeError(f"ingest answered {reply['statusCode']}: {reply['body'][:300]}")
        delivered = deliver_all(local)
    if delivered != len(punches):
        raise RuntimeError(f"delivered {delivered} of {len(punches)} punches")
    by_place: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for (where, key), writes in usage.key_writes.items():
        by_place[where].append((int(writes), key))
    hot = []
    for where, keys in sorted(by_place.items()):
        writes, key = max(keys)
        hot.append(HotKey(where, key, writes, writes / len(punches) * BURST_PER_SECOND))
    return len(punches), hot


def rows(punches: int, hot: list[HotKey]) -> list[tuple[str, str, str]]:
    """`make bench`'s rows: the hottest key of each table and index."""
    title = f"Hottest partition key at {BURST_PER_SECOND:,} punches/s (a rush of {punches:,} punches)"
    return [(title, "", f"limit {KEY_LIMIT_PER_SECOND}/s a key")] + [
        (f"  {key.where}", f"{key.per_second:.0f}/s", f"{key.key} ({key.writes} writes)") for key in hot
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=2_000)
    parser.add_argument("--devices", type=int, default=400)
    parser.add_argument(
        "--day",
        type=date.fromisoformat,
        help="the rush's day, YYYY-MM-DD (default: yesterday); its punches' logIds, so their shards, follow it",
    )
    parser.add_argument("--json", action="store_true", help="the hottest keys as JSON, for scripts")
    arguments = parser.parse_args()
    punches, hot = hottest_keys(arguments.employees, arguments.devices, arguments.day)
    if arguments.json:
        print(json.dumps({"punches": punches, "hottest": [asdict(key) for key in hot]}))
        return
    table = rows(punches, hot)
    width = max(len(label) for label, _, _ in table) + 2
    print("\n".join(f"{label:{width}}{value:>10}  {note}" for label, value, note in table))


if __name__ == "__main__":
    main()
