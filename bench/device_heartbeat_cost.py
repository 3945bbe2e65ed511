"""What device health costs per device and month: the heartbeat writes, sized from the real item.

It registers a device and records a fully detailed contact through the real DeviceStore against moto
with the template's devices table, then sizes the stored item by DynamoDB's rules (a write is billed on
the larger of the item before and after, in 1 KB units, once for the table and once for each index
that holds a copy of it). Run: `python -m bench.device_heartbeat_cost`.
"""

import json
import math
import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
from moto import mock_aws

from attendance.data.devices import DeviceStore, contact_request
from attendance.domain.devices import Device, DeviceKind
from attendance.domain.health import Contact
from bench.prices import PRICE, PRICES_AS_OF
from local_stack.provision import provision
from local_stack.template import load_template

MINUTES_PER_MONTH = 60 * 24 * 30
KB = 1024
SCAN_UNIT = 4 * KB  # a scan reads in 4 KB units, half a unit each when eventually consistent

# A ZKTeco clock with every registration field set, read by an edge poller that reports everything.
DEVICE = Device(
    device_id="CQZ7224460246",
    kind=DeviceKind.ZKTECO,
    serial="CQZ7224460246",
    time_zone="Europe/Berlin",
    name="Front door, ground floor",
    site="berlin-hq",
)
CONTACT = Contact(
    via="edge:berlin-office-pc",
    details={
        "model": "SpeedFace-V5L",
        "firmware": "ZAM180-NF-Ver6.7.1",
        "clock_drift_seconds": -1234,
        "last_error": "timed out reading the attendance log after 10 s" * 2,
        "last_read_at": "2030-01-01T12:00:00Z",
        "outbox_depth": 12345,
    },
)


def attribute_size(name: str, value: dict[str, Any]) -> int:
    """DynamoDB's size of one attribute: its name's UTF-8 bytes plus its value's."""
    [(kind, raw)] = value.items()
    if kind == "S":
        body = len(raw.encode())
    elif kind == "N":
        digits = Decimal(raw).normalize().as_tuple().digits
        body = math.ceil(len(digits) / 2) + 1
    elif kind in ("BOOL", "NULL"):
        body = 1
    else:
        raise ValueError(f"no size rule here for {kind}")
    return len(name.encode()) + body


def item_size(item: dict[str, Any]) -> int:
    return sum(attribute_size(name, value) for name, value in item.items())


def indexes_holding(item: dict[str, Any], template: dict[str, Any]) -> list[str]:
    """The devices table's indexes that keep a copy of this item (those whose key it has)."""
    table = template["Resources"]["DevicesTable"]["Properties"]
    return [
        index["IndexName"]
        for index in table.get("GlobalSecondaryIndexes", [])
        if all(key["AttributeName"] in item for key in index["KeySchema"])
    ]


def measure() -> dict[str, Any]:
    template = load_template()
    with mock_aws():
        stack = provision(template, boto3.client("dynamodb"), boto3.client("sqs"))
        table = stack.refs["DevicesTable"]
        dynamodb = boto3.client("dynamodb")
        store = DeviceStore(dynamodb, table)
        store.put(DEVICE)
        now = datetime(2030, 1, 1, 12, tzinfo=UTC)
        request = contact_request(table, DEVICE.device_id, CONTACT, now)
        store.record_contact(DEVICE.device_id, CONTACT, now)
        store.mark_alerted(DEVICE.device_id, True)  # the largest the item gets
        item = dynamodb.get_item(TableName=table, Key={"deviceId": {"S": DEVICE.device_id}})["Item"]
    size = item_size(item)
    copies = 1 + len(indexes_holding(item, template))
    write_units = math.ceil(size / KB) * copies
    heartbeat_month = MINUTES_PER_MONTH * write_units * PRICE["dynamodb_wru"]
    scan_month = MINUTES_PER_MONTH * 0.5 * size / SCAN_UNIT * PRICE["dynamodb_rru"]
    return {
        "request_bytes": len(json.dumps(request)),
        "item_bytes": size,
        "copies": copies,
        "write_units": write_units,
        "heartbeats_month": MINUTES_PER_MONTH,
        "heartbeat_month": heartbeat_month,
        "scan_month": scan_month,
        "device_month": heartbeat_month + scan_month,
        "check_invocations_month": MINUTES_PER_MONTH,
        "check_requests_month": MINUTES_PER_MONTH * PRICE["lambda_request"],
    }


def report(figures: dict[str, Any]) -> str:
    rows = [
        ("heartbeat UpdateItem request (JSON)", f"{figures['request_bytes']:,} bytes"),
        ("device item after a full report", f"{figures['item_bytes']:,} bytes"),
        ("copies written per heartbeat", f"{figures['copies']}  the table and each index holding it"),
        ("write units per heartbeat", f"{figures['write_units']}"),
        ("heartbeats per device and month, at most", f"{figures['heartbeats_month']:,}  one a minute"),
        ("heartbeat writes per device and month", f"${figures['heartbeat_month']:.4f}"),
        ("the check's scan, per device and month", f"${figures['scan_month']:.5f}"),
        ("per device and month", f"${figures['device_month']:.4f}"),
        (
            "the check itself (any number of devices)",
            f"${figures['check_requests_month']:.4f}  Lambda requests",
        ),
    ]
    lines = [f"Device health cost (us-east-1, prices of {PRICES_AS_OF})"]
    lines += [f"  {name:<44}{value}" for name, value in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
    }.items():
        os.environ.setdefault(name, value)  # moto answers every call; nothing reaches AWS
    print(report(measure()))
