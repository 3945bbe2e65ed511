"""DynamoDB's capacity rules as the cost model applies them, and the template's indexes as it reads them."""

import copy
from datetime import UTC, datetime

from attendance.data.aws import to_item
from attendance.data.punches import punch_item
from bench.dynamodb_units import Index, Table, item_size, query_units, read_units, write_units
from local_stack.template import load_template
from tests.punches import utc_punch


def test_item_size_follows_dynamodbs_rules():
    assert item_size({"id": {"S": "abc"}}) == 2 + 3
    assert item_size({"n": {"N": "123"}}) == 1 + 3  # two digits a byte, plus one
    assert item_size({"n": {"N": "-1.500"}}) == 1 + 2  # trailing zeros and the sign do not count
    assert item_size({"ok": {"BOOL": True}, "no": {"NULL": True}}) == 2 + 1 + 2 + 1
    assert item_size({"m": {"M": {"a": {"S": "xy"}}}}) == 1 + 3 + 1 + 1 + 2
    assert item_size({"l": {"L": [{"S": "xy"}, {"N": "7"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)
    assert item_size({"e": {"S": "é"}}) == 1 + 2  # UTF-8 bytes


def test_units_round_up_per_kilobyte_and_four_kilobytes():
    small, big = {"k": {"S": "x"}}, {"k": {"S": "x" * 1100}}
    assert write_units(None, small) == 1
    assert write_units(small, big) == 2  # the larger of before and after
    assert write_units(big, None) == 2
    assert read_units([small, None], consistent=True) == 2  # a missing item still costs one
    assert read_units([small], consistent=False) == 0.5
    assert query_units([big] * 4) == 1.0  # 4.4 KB read: two units, halved for eventual consistency


def test_an_index_entry_is_written_only_when_what_it_projects_changes():
    index = Index("byStatus", ("status", "at"), "INCLUDE", frozenset({"user"}))
    before = {
        "id": {"S": "1"},
        "status": {"S": "pending"},
        "at": {"S": "t"},
        "user": {"S": "u"},
        "n": {"N": "1"},
    }
    assert index.write_units(before, before | {"n": {"N": "2"}}, ["id"]) == 0  # not projected
    assert index.write_units(before, before | {"user": {"S": "v"}}, ["id"]) == 1  # projected
    assert index.write_units(before, before | {"status": {"S": "failed"}}, ["id"]) == 2  # moved: delete + put
    gone = {name: value for name, value in before.items() if name != "status"}
    assert index.write_units(before, gone, ["id"]) == 1  # out of a sparse index
    assert index.write_units(None, before, ["id"]) == 1


def delivered(item: dict) -> dict:
    """A stored punch as the worker leaves it: synced, out of the undelivered index."""
    after = copy.deepcopy(item) | to_item({"syncStatus": "synced", "attempts": 1, "crmReference": "crm-1"})
    after.pop("undelivered")
    return after


def stored_punch() -> dict:
    instant = datetime(2025, 2, 10, 9, tzinfo=UTC)
    return to_item(punch_item(utc_punch("U1", instant, received_at=instant), instant))


def test_the_templates_indexes_decide_what_a_delivery_costs():
    # Given the punches table as the template defines it
    properties = load_template()["Resources"]["PunchesTable"]["Properties"]
    item = stored_punch()
    # Then storing a punch writes each index once, and its delivery only leaves the undelivered index
    table = Table.from_template(properties)
    assert table.index_write_units(None, item) == {
        "byLocalDate": 1,
        "byUser": 1,
        "byUndelivered": 1,
        "byDevice": 1,
    }
    assert table.index_write_units(item, delivered(item)) == {"byUndelivered": 1}
    # And were the date index to project everything, every delivery would rewrite it too
    everything = copy.deepcopy(properties)
    for index in everything["GlobalSecondaryIndexes"]:
        if index["IndexName"] == "byLocalDate":
            index["Projection"] = {"ProjectionType": "ALL"}
    costly = Table.from_template(everything)
    assert costly.index_write_units(item, delivered(item)) == {"byUndelivered": 1, "byLocalDate": 1}
