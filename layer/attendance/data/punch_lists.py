"""Lists of latest punches (a device's, a day's): index entries, each with its delivery status.

The indexes project only what never changes, so a punch's delivery updates never rewrite them: the
delivery status of the few punches a list shows is read from the table itself, by key.
"""

from typing import Any

from attendance.data.aws import batch_get
from attendance.domain.records import ListedPunch

_NEVER_TRIED = {"syncStatus": "pending", "attempts": 0, "lastError": None}


def with_delivery_status[Listed: ListedPunch](
    client: Any, table: str, entries: list[dict[str, Any]], model: type[Listed]
) -> list[Listed]:
    """These index entries (plain dicts, in their order) as `model`s, with each punch's delivery status."""
    statuses = batch_get(
        client,
        table,
        [{"logId": entry["logId"]} for entry in entries],
        "reading punches' delivery status",
        ProjectionExpression="logId, syncStatus, attempts, lastError",
    )
    by_log_id = {item["logId"]: item for item in statuses}
    return [
        model.model_validate(_NEVER_TRIED | entry | by_log_id.get(entry["logId"], {})) for entry in entries
    ]
