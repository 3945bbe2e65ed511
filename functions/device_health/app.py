"""Scheduled every minute: each device's state, as a metric, and a notification on the alarm topic when an
enabled device falls silent (once) and when it is back (once). See attendance.devices.health_check."""

from attendance import init_phase  # first: the collector rests while the rest imports

# isort: split
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from attendance.data.aws import client
from attendance.data.devices import DeviceStore
from attendance.data.notifications import AlarmTopic
from attendance.devices.health_check import HealthCheck
from attendance.domain.health import DeviceState
from attendance.settings import DeviceHealthSettings

logger = Logger()
metrics = Metrics()


@cache
def dependencies() -> HealthCheck:
    settings = DeviceHealthSettings()
    return HealthCheck(
        DeviceStore(client("dynamodb"), settings.devices_table),
        AlarmTopic(client("sns"), settings.alarm_topic_arn),
    )


def _checked_at(event: dict[str, Any]) -> datetime:
    """The scheduled time the scheduler sends (so a late run judges the minute it was meant for)."""
    try:
        return datetime.fromisoformat(event["time"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return datetime.now(UTC)


@init_phase.ends_at_first_invocation
@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = dependencies().run(_checked_at(event))
    for state in DeviceState:  # DevicesOnline, DevicesSilent, DevicesNeverSeen, DevicesDisabled
        name = "Devices" + state.value.title().replace("_", "")
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=result.states[state])
    return {
        "states": {state.value: result.states[state] for state in DeviceState},
        "alerts": [{"deviceId": device_id, "alert": alert.value} for device_id, alert in result.alerts],
    }
