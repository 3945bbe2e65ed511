"""The DynamoDB Streams event source mapping, locally: read a table's stream, invoke a function with
batches of its records, and never let a failing function stall the stream.

As Lambda's mapping does it:
- Each shard is read in order, one batch at a time, from the starting position (LATEST: changes made
  after the mapping started); shards found later are read from their beginning.
- A batch succeeds when the function returns; with ReportBatchItemFailures it may instead name failed
  records by sequence number: the stream is checkpointed before the lowest one and retried from there.
  An empty, null or unknown identifier fails the whole batch; an empty or missing list is success.
- A function error (it raised or timed out) retries the batch; with BisectBatchOnFunctionError the batch
  is split in two first and each half retried on its own (splitting uses no retry attempt).
- Records are retried at most MaximumRetryAttempts times and never once older than
  MaximumRecordAgeInSeconds (-1: no limit for either). Records given up on are described in an
  invocation record sent to the on-failure destination (an SQS queue), and the shard moves on past them.

The stream is read through a StreamReader: over the API with a dynamodbstreams client, or, when moto runs
in this process, straight from its backend (same records, without a round trip through HTTP and JSON).
"""

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from botocore.exceptions import ClientError
from moto.backends import get_backend

from local_stack.moto_patches import ExpiredIteratorException

Invoke = Callable[[dict[str, Any]], Any]
UNLIMITED = -1
REGION = "us-east-1"
RETRY_ATTEMPTS_EXHAUSTED = "RetryAttemptsExhausted"
RECORD_AGE_EXCEEDED = "RecordAgeExceeded"
SHARD_DISCOVERY_SECONDS = 60.0  # how often the stream is described to find new shards
QUIET_POLL_SECONDS = 0.25


class IteratorExpired(Exception):
    """A shard iterator handed out more than 15 minutes ago."""


@runtime_checkable
class StreamReader(Protocol):
    """The three reads a mapping makes of a stream; records as GetRecords answers them."""

    def shard_ids(self, stream_arn: str) -> list[str]: ...

    def iterator(self, stream_arn: str, shard_id: str, position: dict[str, str]) -> str:
        """`position`: GetShardIterator's ShardIteratorType and, for the _SEQUENCE_NUMBER types, its
        SequenceNumber."""
        ...

    def records(self, iterator: str, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        """The records and the next iterator (None once a closed shard is read to its end); raises
        IteratorExpired."""
        ...


@dataclass(frozen=True)
class Boto3StreamReader:
    """Through the DynamoDB Streams API, with a dynamodbstreams client."""

    client: Any

    def shard_ids(self, stream_arn: str) -> list[str]:
        description = self.client.describe_stream(StreamArn=stream_arn)["StreamDescription"]
        return [shard["ShardId"] for shard in description["Shards"]]

    def iterator(self, stream_arn: str, shard_id: str, position: dict[str, str]) -> str:
        return self.client.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id, **position)[
            "ShardIterator"
        ]

    def records(self, iterator: str, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        try:
            reply = self.client.get_records(ShardIterator=iterator, Limit=limit)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExpiredIteratorException":
                raise IteratorExpired() from error
            raise
        return reply["Records"], reply.get("NextShardIterator")


class MotoStreamReader:
    """Straight from moto's backend in this process, through the methods its server calls (so with the
    same locks, iterator expiry and patches). The records are moto's own, not copies: read them only.
    They differ from a client's in one way, which the events do not show: ApproximateCreationDateTime is
    a naive UTC datetime."""

    def __init__(self, account_id: str, region: str) -> None:
        self._backend = get_backend("dynamodbstreams")[account_id][region]

    @classmethod
    def for_stream(cls, stream_arn: str) -> "MotoStreamReader":
        _arn, _partition, _service, region, account_id, _resource = stream_arn.split(":", 5)
        return cls(account_id, region)

    def shard_ids(self, stream_arn: str) -> list[str]:
        return [shard["ShardId"] for shard in self._backend.describe_stream(stream_arn)["Shards"]]

    def iterator(self, stream_arn: str, shard_id: str, position: dict[str, str]) -> str:
        sequence = position.get("SequenceNumber")
        return self._backend.get_shard_iterator(
            stream_arn,
            shard_id,
            position["ShardIteratorType"],
            int(sequence) if sequence is not None else None,
        ).arn

    def records(self, iterator: str, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        try:
            reply = self._backend.get_records(iterator, limit)
        except ExpiredIteratorException as error:
            raise IteratorExpired() from error
        return reply["Records"], reply.get("NextShardIterator")


def stream_reader(streams: Any) -> StreamReader:
    """A StreamReader as it is, a dynamodbstreams client wrapped in one."""
    return streams if isinstance(streams, StreamReader) else Boto3StreamReader(streams)


@dataclass(frozen=True)
class StreamSettings:
    """An event source mapping's settings; the defaults are Lambda's."""

    batch_size: int = 100
    starting_position: str = "LATEST"
    maximum_retry_attempts: int = UNLIMITED
    maximum_record_age_seconds: int = UNLIMITED
    bisect_on_function_error: bool = False
    report_batch_item_failures: bool = False
    on_failure_destination: str | None = None  # an SQS queue ARN

    @classmethod
    def from_event_properties(cls, properties: dict[str, Any]) -> "StreamSettings":
        """From a template's `Type: DynamoDB` event Properties, intrinsic functions already resolved."""
        on_failure = properties.get("DestinationConfig", {}).get("OnFailure", {})
        return cls(
            batch_size=int(properties.get("BatchSize", cls.batch_size)),
            starting_position=str(properties.get("StartingPosition", cls.starting_position)),
            maximum_retry_attempts=int(properties.get("MaximumRetryAttempts", UNLIMITED)),
            maximum_record_age_seconds=int(properties.get("MaximumRecordAgeInSeconds", UNLIMITED)),
            bisect_on_function_error=_true(properties.get("BisectBatchOnFunctionError", False)),
            report_batch_item_failures="ReportBatchItemFailures"
            in properties.get("FunctionResponseTypes", []),
            on_failure_destination=on_failure.get("Destination"),
        )


@dataclass(frozen=True)
class PollReport:
    records: int = 0  # read from the stream
    invocations: int = 0
    discarded_batches: int = 0  # given up on (sent to the on-failure destination, when there is one)

    def __add__(self, other: "PollReport") -> "PollReport":
        return PollReport(
            self.records + other.records,
            self.invocations + other.invocations,
            self.discarded_batches + other.discarded_batches,
        )


@dataclass
class StreamStats:
    """Totals since the trigger started."""

    records: int = 0
    invocations: int = 0
    discarded_batches: int = 0
    discarded_records: int = 0


@dataclass
class _Batch:
    """Records still to deliver, with what happened to them so far."""

    records: list[dict[str, Any]]
    retries: int = 0
    invocations: int = 0
    response: dict[str, Any] = field(default_factory=dict)  # of the last invocation


@dataclass
class _Shard:
    """Where the mapping is in a shard: its iterator, or (once that is lost to an error, a stop or its
    expiry) the first record not yet handled, or else the last one handled."""

    shard_id: str
    starting_position: str
    iterator: str | None = None
    resume_at: str | None = None
    handled_through: str | None = None

    def position(self) -> dict[str, str]:
        """GetShardIterator's arguments for where the shard's next batch starts."""
        if self.resume_at is not None:
            return {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": self.resume_at}
        if self.handled_through is not None:
            return {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self.handled_through}
        return {"ShardIteratorType": self.starting_position}


class _Stopped(Exception):
    """Stopping while a batch is being retried: the shard resumes at its first record not yet handled."""

    def __init__(self, report: PollReport) -> None:
        super().__init__("stopping")
        self.report = report


@dataclass
class StreamTrigger:
    streams: Any  # a StreamReader, or a dynamodbstreams client to read through
    stream_arn: str
    invoke: Invoke  # raises when the function fails, as FunctionPool.invoke does
    settings: StreamSettings = field(default_factory=StreamSettings)
    sqs: Any = None  # for the on-failure destination
    destination_url: str | None = None
    function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:function"
    clock: Callable[[], float] = time.time
    should_stop: Callable[[], bool] = lambda: False
    pause: Callable[[float], Any] = lambda _seconds: None  # between retries, as Lambda backs off
    retry_delay: float = 0.0
    stats: StreamStats = field(default_factory=StreamStats)
    _shards: dict[str, _Shard] = field(default_factory=dict)
    _finished: set[str] = field(default_factory=set)
    _described_at: float | None = None
    reader: StreamReader = field(init=False)

    def __post_init__(self) -> None:
        self.reader = stream_reader(self.streams)

    @classmethod
    def for_event(
        cls,
        properties: dict[str, Any],
        invoke: Invoke,
        streams: Any,
        sqs: Any,
        queue_url_of: Callable[[str], str],
        function_name: str,
        **options: Any,
    ) -> "StreamTrigger":
        """The mapping a template's `Type: DynamoDB` event (Properties resolved) describes."""
        settings = StreamSettings.from_event_properties(properties)
        destination = settings.on_failure_destination
        return cls(
            streams,
            properties["Stream"],
            invoke,
            settings,
            sqs=sqs,
            destination_url=queue_url_of(destination) if destination else None,
            function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}",
            **options,
        )

    def start(self) -> None:
        """Positions every shard at the starting position: call once before the first poll, so that
        changes made from now on are delivered (LATEST)."""
        self._discover_shards()

    def poll_once(self) -> PollReport:
        """One batch from each shard, delivered (retried, bisected or given up on) before returning."""
        if self._described_at is None or self.clock() - self._described_at >= SHARD_DISCOVERY_SECONDS:
            self._discover_shards()
        report = PollReport()
        for shard in list(self._shards.values()):
            report += self._poll(shard)
        return report

    def _discover_shards(self) -> None:
        first_time = self._described_at is None
        for shard_id in self.reader.shard_ids(self.stream_arn):
            if shard_id in self._shards or shard_id in self._finished:
                continue
            found = _Shard(shard_id, self.settings.starting_position if first_time else "TRIM_HORIZON")
            found.iterator = self._iterator(found)
            self._shards[shard_id] = found
        self._described_at = self.clock()

    def _iterator(self, shard: _Shard) -> str:
        return self.reader.iterator(self.stream_arn, shard.shard_id, shard.position())

    def _read(self, shard: _Shard) -> tuple[list[dict[str, Any]], str | None]:
        assert shard.iterator is not None
        try:
            return self.reader.records(shard.iterator, self.settings.batch_size)
        except IteratorExpired:
            shard.iterator = self._iterator(shard)  # expired 15 minutes after it was handed out
        return self.reader.records(shard.iterator, self.settings.batch_size)

    def _poll(self, shard: _Shard) -> PollReport:
        if shard.iterator is None:
            shard.iterator = self._iterator(shard)
        records, next_iterator = self._read(shard)
        report = PollReport(len(records))
        if records:
            # Until the batch is through, an error (or a stop) resumes the shard at its first record.
            shard.iterator, shard.resume_at = None, _sequence(records[0])
            self.stats.records += len(records)
            try:
                report = self._deliver(shard, records, report)
            except _Stopped as stopped:
                return stopped.report
            shard.handled_through = _sequence(records[-1])
        shard.iterator, shard.resume_at = next_iterator, None
        if shard.iterator is None:  # a closed shard, read to its end
            del self._shards[shard.shard_id]
            self._finished.add(shard.shard_id)
        return report

    def _deliver(self, shard: _Shard, records: list[dict[str, Any]], report: PollReport) -> PollReport:
        pending = deque([_Batch(records)])
        while pending:
            batch = pending.popleft()
            shard.resume_at = _sequence(batch.records[0])
            expired = self._expired(batch.records)
            if expired:
                self._discard(shard, batch, expired, RECORD_AGE_EXCEEDED)
                report += PollReport(discarded_batches=1)
                batch.records = batch.records[len(expired) :]
                if not batch.records:
                    continue
            if batch.invocations:  # a retry
                if self.should_stop():
                    raise _Stopped(report)
                self.pause(self.retry_delay)
            report += PollReport(invocations=1)
            failed = self._invoke(batch)
            if failed is None:
                continue
            if batch.response.get("functionError") and self._bisects(batch):
                middle = len(batch.records) // 2  # splitting uses no retry attempt
                halves = [batch.records[:middle], batch.records[middle:]]
                pending.extendleft(
                    _Batch(half, batch.retries, batch.invocations, batch.response)
                    for half in reversed(halves)
                )
                continue
            retry = _Batch(batch.records[failed:], batch.retries + 1, batch.invocations, batch.response)
            shard.resume_at = _sequence(retry.records[0])  # the checkpoint moves past what succeeded
            if self._exhausted(retry.retries):
                self._discard(shard, retry, retry.records, RETRY_ATTEMPTS_EXHAUSTED)
                report += PollReport(discarded_batches=1)
                continue
            pending.appendleft(retry)
        return report

    def _invoke(self, batch: _Batch) -> int | None:
        """Invokes the function with the batch: None when it succeeded, else where the records to retry
        start (0 for all of them)."""
        batch.invocations += 1
        self.stats.invocations += 1
        try:
            result = self.invoke(stream_event(batch.records, self.stream_arn))
        except Exception:
            batch.response = {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
            return 0
        batch.response = {"statusCode": 200, "executedVersion": "$LATEST"}
        if not self.settings.report_batch_item_failures:
            return None
        return first_failed_record(result, batch.records)

    def _bisects(self, batch: _Batch) -> bool:
        return self.settings.bisect_on_function_error and len(batch.records) > 1

    def _exhausted(self, retries: int) -> bool:
        limit = self.settings.maximum_retry_attempts
        return limit != UNLIMITED and retries > limit

    def _expired(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The leading records older than the maximum age (records come in the order they were made)."""
        limit = self.settings.maximum_record_age_seconds
        if limit == UNLIMITED:
            return []
        now = self.clock()
        expired = []
        for record in records:
            if now - _created(record) <= limit:
                break
            expired.append(record)
        return expired

    def _discard(self, shard: _Shard, batch: _Batch, records: list[dict[str, Any]], condition: str) -> None:
        self.stats.discarded_batches += 1
        self.stats.discarded_records += len(records)
        if self.destination_url is None or self.sqs is None:
            return
        self.sqs.send_message(
            QueueUrl=self.destination_url,
            MessageBody=json.dumps(self._invocation_record(shard, batch, records, condition)),
        )

    def _invocation_record(
        self, shard: _Shard, batch: _Batch, records: list[dict[str, Any]], condition: str
    ) -> dict[str, Any]:
        """What Lambda sends to a stream mapping's on-failure destination: the batch's place in the
        stream, not its records."""
        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.function_arn,
                "condition": condition,
                "approximateInvokeCount": batch.invocations,
            },
            # Records that expired before any invocation have no response to describe.
            "responseContext": batch.response or {"statusCode": 0, "executedVersion": "$LATEST"},
            "version": "1.0",
            "timestamp": _iso(self.clock(), "milliseconds"),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": _sequence(records[0]),
                "endSequenceNumber": _sequence(records[-1]),
                "approximateArrivalOfFirstRecord": _iso(_created(records[0]), "seconds"),
                "approximateArrivalOfLastRecord": _iso(_created(records[-1]), "seconds"),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }


def stream_event(records: list[dict[str, Any]], stream_arn: str) -> dict[str, Any]:
    """The event Lambda's DynamoDB mapping builds from GetRecords records."""
    return {"Records": [_event_record(record, stream_arn) for record in records]}


# A stream record's fields in the order a client parses them (moto keeps them in another), then the rest.
_FIELD_ORDER = {
    name: rank
    for rank, name in enumerate(
        ("Keys", "NewImage", "OldImage", "SequenceNumber", "SizeBytes", "StreamViewType")
    )
}


def _event_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    fields = sorted(record["dynamodb"].items(), key=lambda item: _FIELD_ORDER.get(item[0], len(_FIELD_ORDER)))
    dynamodb = {key: value for key, value in fields if key != "ApproximateCreationDateTime"}
    dynamodb["ApproximateCreationDateTime"] = int(_created(record))  # epoch seconds, as in Lambda's events
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", REGION),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def first_failed_record(result: Any, records: list[dict[str, Any]]) -> int | None:
    """Where to retry from after a ReportBatchItemFailures response: the index of the failed record
    with the lowest sequence number, 0 (the whole batch) for an empty, null or unknown identifier, or
    None when the batch succeeded."""
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if not failures:
        return None
    index = {_sequence(record): position for position, record in enumerate(records)}
    positions = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in index:
            return 0
        positions.append(index[identifier])
    return min(positions)


def _sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def _created(record: dict[str, Any]) -> float:
    """ApproximateCreationDateTime as epoch seconds, whether parsed by a client (aware), read from moto
    (naive, in UTC) or a number."""
    created = record["dynamodb"]["ApproximateCreationDateTime"]
    if not isinstance(created, datetime):
        return float(created)
    return (created if created.tzinfo else created.replace(tzinfo=UTC)).timestamp()


def _iso(epoch_seconds: float, timespec: str) -> str:
    moment = datetime.fromtimestamp(epoch_seconds, UTC).replace(tzinfo=None)
    return moment.isoformat(timespec=timespec) + "Z"


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def poll_stream_until(trigger: StreamTrigger, stop: threading.Event, log: Callable[[str], None]) -> None:
    """Polls as Lambda does, four times a second while the stream is quiet, until stopped."""
    while not stop.is_set():
        try:
            report = trigger.poll_once()
        except Exception as error:
            log(f"stream event source mapping: {error}")
            stop.wait(1)
            continue
        if not report.records:
            stop.wait(QUIET_POLL_SECONDS)
