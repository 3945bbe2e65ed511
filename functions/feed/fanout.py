"""The live feed's fan-out: the punches and devices tables' stream records become events, posted to every
connection whose rooms want them.

A record that cannot be read is reported as a batch item failure (the mapping retries from it, bisects,
and finally hands it to the on-failure queue); one connection that is slow or gone fails nothing. Only
an unreadable connections table fails the whole batch, which is then retried.
"""

from attendance import init_phase  # first: the collector rests while the rest imports

# isort: split
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from attendance.data.aws import client
from attendance.data.feed import ConnectionPoster, ConnectionStore, change_from_record
from attendance.feed.changes import PunchChange, device_events, punch_events
from attendance.feed.events import FeedEvent
from attendance.feed.fanout import FanoutService
from attendance.settings import FeedFanoutSettings
from attendance.tracing import create_tracer

logger = Logger()
tracer = create_tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@cache
def settings() -> FeedFanoutSettings:
    return FeedFanoutSettings()


@cache
def fanout() -> FanoutService:
    store = ConnectionStore(client("dynamodb"), settings().feed_connections_table)
    return FanoutService(store, ConnectionPoster(settings().feed_connections_endpoint))


def events_of(record: DynamoDBRecord) -> list[FeedEvent]:
    change = change_from_record(record.raw_event)
    if isinstance(change, PunchChange):
        return punch_events(change)
    return device_events(change, settings().default_time_zone)


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    remaining_at_start = context.get_remaining_time_in_millis()  # the batch's duration, for the cost model
    events: list[FeedEvent] = []
    with processor(records=event.get("Records", []), handler=lambda record: events.extend(events_of(record))):
        processor.process()
    report = fanout().send(events)
    metrics.add_metric(name="FeedEvents", unit=MetricUnit.Count, value=report.events)
    metrics.add_metric(name="FeedMessagesSent", unit=MetricUnit.Count, value=report.sent)
    metrics.add_metric(name="FeedConnectionsGone", unit=MetricUnit.Count, value=report.gone)
    metrics.add_metric(name="FeedPostsFailed", unit=MetricUnit.Count, value=report.failed)
    logger.info(
        "fan-out",
        extra={
            "records": len(event.get("Records", [])),
            "events": report.events,
            "connections": report.connections,
            "sent": report.sent,
            "gone": report.gone,
            "failed": report.failed,
            "durationMs": remaining_at_start - context.get_remaining_time_in_millis(),
        },
    )
    return processor.response()
