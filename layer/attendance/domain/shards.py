"""Index keys spread over shards, so that no partition takes more than its share of a rush.

A key that every punch of a day (or every undelivered punch) shares would put a whole rush on one
partition of an index, and a partition takes about 1,000 write units a second. The key carries a shard
number instead, from the punch's logId: a punch is always in the same shard, the shards fill evenly, and
a query reads every shard of the value it asks for.
"""

import zlib

# At 5,000 punches a second, at most about 500 writes a second on any key: a day's punches are written
# into the date index once (16 shards: about 310 a second each); an undelivered punch enters its index
# when stored and leaves it when delivered (32 shards: about 310 a second each, both ways together).
DATE_SHARDS = 16
UNDELIVERED_SHARDS = 32


def shard_of(log_id: str, shards: int) -> int:
    return zlib.crc32(log_id.encode()) % shards


def sharded(value: str, log_id: str, shards: int) -> str:
    """The key of `value` in the shard this punch belongs to."""
    return f"{value}#{shard_of(log_id, shards):02d}"


def every_shard(value: str, shards: int) -> list[str]:
    """The keys a query for `value` reads."""
    return [f"{value}#{shard:02d}" for shard in range(shards)]


def unsharded(key: str) -> str:
    return key.rpartition("#")[0]
