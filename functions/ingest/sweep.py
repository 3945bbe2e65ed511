"""Scheduled sweep: queues again punches left pending too long (see attendance.ingest.sweep)."""

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
from attendance.ingest.sweep import requeue_stale_pending
from attendance.settings import SweepSettings

logger = Logger()
metrics = Metrics()


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    settings = SweepSettings()
    store = PunchStore(client("dynamodb"), settings.punches_table)
    queue = PunchQueue(client("sqs"), settings.punch_queue_url)
    requeued = requeue_stale_pending(
        store, queue, datetime.now(UTC), timedelta(minutes=settings.pending_requeue_minutes)
    )
    metrics.add_metric(name="PunchesRequeued", unit=MetricUnit.Count, value=requeued)
    return {"requeued": requeued}
