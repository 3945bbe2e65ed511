"""Scheduled sweep: queues again punches left pending too long, and keeps dead letters in the DLQ past its
retention (see attendance.ingest.sweep)."""

from attendance import init_phase  # first: the collector rests while the rest imports

# isort: split
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from attendance.data.aws import client
from attendance.data.punches import PunchStore
from attendance.data.queue import PunchQueue
from attendance.ingest.sweep import sweep
from attendance.settings import SweepSettings

logger = Logger()
metrics = Metrics()


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    settings = SweepSettings()
    store = PunchStore(client("dynamodb"), settings.punches_table)
    sqs = client("sqs")
    result = sweep(
        store,
        PunchQueue(sqs, settings.punch_queue_url),
        PunchQueue(sqs, settings.punch_dlq_url),
        datetime.now(UTC),
        timedelta(minutes=settings.pending_requeue_minutes),
    )
    metrics.add_metric(name="PunchesRequeued", unit=MetricUnit.Count, value=result.requeued)
    metrics.add_metric(name="DeadLettersKept", unit=MetricUnit.Count, value=result.dead_letters_kept)
    return {"requeued": result.requeued, "deadLettersKept": result.dead_letters_kept}
