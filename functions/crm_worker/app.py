"""CRM worker: SQS-triggered; delivers each queued punch, reporting failed messages one by one.

Each invocation paces its CRM calls (attendance.delivery.backpressure): its share of CrmMaxRatePerSecond.
"""

from attendance import init_phase  # first: the collector rests while the rest imports

# isort: split
import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from typing import TYPE_CHECKING, Any

import httpx
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from attendance.data.aws import client
from attendance.data.punches import PunchStore
from attendance.data.queue import PunchQueue, attempts_in, log_id_in
from attendance.delivery.backpressure import CallPacer, pacing_interval
from attendance.delivery.crm import CrmClient
from attendance.delivery.outcome import Verdict
from attendance.delivery.secrets import CrmSecret
from attendance.delivery.service import DeliveryFailed, DeliveryService
from attendance.delivery.targets import TARGETS
from attendance.settings import WorkerSettings
from attendance.tracing import AWS_CALLS, create_tracer

if TYPE_CHECKING:
    from attendance.delivery.corrections import PunchCorrections

logger = Logger()
tracer = create_tracer(patch=(*AWS_CALLS, "httpx"))  # the CRM calls too
metrics = Metrics()
SAFETY_SECONDS = 1.5  # left after the CRM calls for the table updates and the batch response
_CALLS = ThreadPoolExecutor(max_workers=10, thread_name_prefix="crm")  # one per record of a full batch


@cache
def dependencies() -> tuple[WorkerSettings, DeliveryService]:
    settings = WorkerSettings()
    return settings, delivery_service(settings)


def delivery_service(settings: WorkerSettings) -> DeliveryService:
    """Everything one execution environment keeps between invocations; the CRM secret is only named here,
    and read (through Powertools' five-minute cache) for every delivery."""
    crm = CrmClient(
        TARGETS[settings.crm_target](
            settings.crm_url, {"version": settings.crm_frappe_version, "time_zone": settings.crm_zone}
        ),
        CrmSecret(settings.crm_secret_parameter),
        httpx.Client(timeout=settings.crm_timeout_seconds, follow_redirects=False),
        settings.crm_timeout_seconds,
    )
    punch_queue = PunchQueue(client("sqs"), settings.punch_queue_url)
    return DeliveryService(
        PunchStore(client("dynamodb"), settings.punches_table),
        PunchQueue(client("sqs"), settings.punch_dlq_url),
        crm,
        punch_queue,
        cache(partial(corrections, settings, punch_queue)),
    )


def corrections(settings: WorkerSettings, punch_queue: PunchQueue) -> "PunchCorrections":
    """What adds a punch voided to correct its type again; imported when first needed, since a correction
    is rare and the dedup rules are not worth every cold start's import."""
    from attendance.data.punch_intake import PunchIntake
    from attendance.delivery.corrections import PunchCorrections

    return PunchCorrections(
        PunchIntake(client("dynamodb"), settings.punches_table, settings.dedup_table),
        punch_queue,
        settings.dedup_window_seconds,
        timedelta(days=settings.dedup_retention_days),
    )


_RATE_METRICS = {Verdict.RATE_LIMITED: "DeliveryRateLimited", Verdict.PACED: "DeliveryPaced"}


async def deliver_record(record: SQSRecord, lambda_context: LambdaContext, pacer: CallPacer) -> None:
    settings, service = dependencies()
    log_id = log_id_in(record.body)
    receive_count = int(record.attributes.approximate_receive_count)
    earlier = attempts_in(record.raw_event.get("messageAttributes"))
    sent_at = datetime.fromtimestamp(int(record.attributes.sent_timestamp) / 1000, UTC)

    def seconds_left() -> float:
        """The CRM call must end before the function does (and so before the message is visible again)."""
        return lambda_context.get_remaining_time_in_millis() / 1000 - SAFETY_SECONDS

    deliver = partial(
        service.deliver,
        log_id,
        receive_count,
        settings.max_receive_count,
        seconds_left,
        earlier_attempts=earlier,
        pacer=pacer,
        sent_at=sent_at,
    )
    try:
        verdict = await asyncio.get_running_loop().run_in_executor(_CALLS, deliver)
    except DeliveryFailed:
        metrics.add_metric(name="DeliveryFailed", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name=_RATE_METRICS.get(verdict, "DeliveryHandled"), unit=MetricUnit.Count, value=1)


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings, _ = dependencies()
    pacer = CallPacer(pacing_interval(settings.crm_max_rate_per_second, settings.worker_max_concurrency))
    # Report an all-failed batch item by item too, rather than raising: same retries, clearer logs.
    processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    try:
        return async_process_partial_response(event, partial(deliver_record, pacer=pacer), processor, context)
    finally:
        pacer.settle()  # the next invocation in this one's place may then call at once
