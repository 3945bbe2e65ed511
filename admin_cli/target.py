"""Which stack the CLI talks to: the local one (moto), or a deployed one found by its CloudFormation outputs."""

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from attendance.local_parameters import parameters_from_environment
from attendance.local_ports import port_from_environment
from attendance.stack_names import STACK_PREFIX

OUTPUTS = {
    "punches_table": "PunchesTableName",
    "dedup_table": "DedupTableName",
    "api_keys_table": "ApiKeysTableName",
    "devices_table": "DevicesTableName",
    "schedules_table": "SchedulesTableName",
    "holidays_table": "HolidaysTableName",
    "leave_table": "LeaveTableName",
    "commands_table": "CommandsTableName",
    "employees_table": "EmployeesTableName",
    "punch_queue_url": "PunchQueueUrl",
    "dead_letter_queue_url": "PunchDeadLetterQueueUrl",
    "api_url": "ApiUrl",
}
_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})


class TargetError(Exception):
    """The stack cannot be found or reached; the message says what to check."""


@dataclass(frozen=True)
class Target:
    session: boto3.session.Session
    endpoint_url: str | None
    punches_table: str
    dedup_table: str
    api_keys_table: str
    devices_table: str
    schedules_table: str
    holidays_table: str
    leave_table: str
    commands_table: str
    employees_table: str
    punch_queue_url: str
    dead_letter_queue_url: str
    api_url: str
    # The stack's DefaultTimeZone: the company's zone, in which "today" is read and an employee without a
    # schedule has their work days, as the functions read it
    default_time_zone: str = "UTC"

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url, config=_CONFIG)


def local_target() -> Target:
    """The stack `make run` started: moto on AWS_PORT (4566), resources named as the local stack names them;
    a port variable that holds no port is InvalidPort."""
    endpoint = f"http://127.0.0.1:{port_from_environment('AWS_PORT', 4566)}"
    secret = "local"  # noqa: S105 - moto accepts any credentials
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key=secret, region_name="us-east-1"
    )
    try:
        queues = session.client("sqs", endpoint_url=endpoint, config=_CONFIG)
        queue_url = queues.get_queue_url(QueueName=f"{STACK_PREFIX}-PunchQueue")["QueueUrl"]
        dlq_url = queues.get_queue_url(QueueName=f"{STACK_PREFIX}-PunchDeadLetterQueue")["QueueUrl"]
    except (BotoCoreError, ClientError) as error:
        raise TargetError(f"no local stack at {endpoint} (start it with `make run`): {error}") from None
    names = {
        name: f"{STACK_PREFIX}-{output.removesuffix('Name')}"
        for name, output in OUTPUTS.items()
        if output.endswith("TableName")
    }
    return Target(
        session,
        endpoint,
        punch_queue_url=queue_url,
        dead_letter_queue_url=dlq_url,
        api_url=local_api_url(),
        default_time_zone=local_parameter("DefaultTimeZone") or "UTC",
        **names,
    )


def local_parameter(name: str) -> str | None:
    """A template parameter the local stack is given in LOCAL_PARAMETERS, as `make run` reads it: the CLI
    sees the variable of its own shell, so give both the same."""
    return dict(parameters_from_environment()[0]).get(name)


def local_api_url() -> str:
    """The local stack's HTTP API on API_PORT (3000): known without asking moto, so it needs no moto up."""
    return f"http://127.0.0.1:{port_from_environment('API_PORT', 3000)}"


def stack_target(stack_name: str, region: str | None, profile: str | None) -> Target:
    """A deployed stack: every name comes from its outputs."""
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
        stacks = session.client("cloudformation", config=_CONFIG).describe_stacks(StackName=stack_name)[
            "Stacks"
        ]
    except (BotoCoreError, ClientError) as error:
        raise TargetError(f"cannot read stack {stack_name!r}: {error}") from None
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
    missing = [output for output in OUTPUTS.values() if output not in outputs]
    if missing:
        raise TargetError(
            f"stack {stack_name!r} lacks outputs {', '.join(missing)}: is it an attendance-sync stack?"
        )
    parameters = {
        parameter["ParameterKey"]: parameter.get("ParameterValue", "")
        for parameter in stacks[0].get("Parameters", [])
    }
    return Target(
        session,
        None,
        default_time_zone=parameters.get("DefaultTimeZone") or "UTC",
        **{name: outputs[output] for name, output in OUTPUTS.items()},
    )
