"""The employees table: the directory, one item per userId."""

from datetime import UTC, datetime
from typing import Any

from attendance.data.aws import batch_get, batch_put, from_item, to_item, unavailable_on_aws_errors
from attendance.data.punches import iso
from attendance.domain.employees import Employee, Named


class EmployeeStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def get(self, user_id: str) -> Employee | None:
        with unavailable_on_aws_errors("reading an employee"):
            reply = self._client.get_item(TableName=self._table, Key=to_item({"userId": user_id}))
        return _employee(reply["Item"]) if "Item" in reply else None

    def put(self, employee: Employee, changed_by: str | None = None) -> None:
        """Write the employee; `changed_by` (an API key's ID, or who ran the CLI) is kept with the time."""
        with unavailable_on_aws_errors("saving an employee"):
            self._client.put_item(TableName=self._table, Item=to_item(_item(employee, changed_by)))

    def put_many(self, employees: list[Employee], changed_by: str) -> None:
        """Write these employees (an import), twenty-five a request."""
        batch_put(self._client, self._table, [_item(e, changed_by) for e in employees], "saving employees")

    def names_of(self, user_ids: set[str]) -> dict[str, str]:
        """The directory's names of these users (those in it), by BatchGetItem (no scan; none asked, no
        request)."""
        return {user: who.name for user, who in self.named(user_ids).items()}

    def named(self, user_ids: set[str]) -> dict[str, Named]:
        """The directory's name and department of these users (those in it), as names_of reads them."""
        keys = [{"userId": user} for user in sorted(user_ids)]
        found = batch_get(
            self._client,
            self._table,
            keys,
            "reading employees' names",
            ProjectionExpression="userId, #name, department",
            ExpressionAttributeNames={"#name": "name"},  # a reserved word
        )
        return {values["userId"]: Named(values["name"], values.get("department")) for values in found}

    def list(self) -> list[Employee]:
        """Every employee, by userId."""
        with unavailable_on_aws_errors("listing employees"):
            pages = self._client.get_paginator("scan").paginate(TableName=self._table)
            return sorted(
                (_employee(item) for page in pages for item in page["Items"]), key=lambda e: e.user_id
            )


def _employee(item: dict[str, Any]) -> Employee:
    values = from_item(item)
    return Employee(
        user_id=values["userId"],
        name=values["name"],
        department=values.get("department"),
        started_on=values.get("startedOn"),
        left_on=values.get("leftOn"),
        vacation_days_per_year=values.get("vacationDaysPerYear"),
    )


def _item(employee: Employee, changed_by: str | None) -> dict[str, Any]:
    return {
        "userId": employee.user_id,
        "name": employee.name,
        "department": employee.department,
        "startedOn": employee.started_on.isoformat() if employee.started_on else None,
        "leftOn": employee.left_on.isoformat() if employee.left_on else None,
        "vacationDaysPerYear": employee.vacation_days_per_year,
        "changedBy": changed_by,
        "changedAt": iso(datetime.now(UTC)) if changed_by else None,
    }
