"""A function's settings that its environment gets wrong: one line naming each variable and its value."""

import pytest

from attendance.settings import InvalidSettings, WorkerSettings

WORKER = {"punches_table": "p", "dedup_table": "d", "punch_queue_url": "q", "punch_dlq_url": "l"}


def test_a_setting_refused_is_named_with_its_value_and_the_rule(monkeypatch):
    monkeypatch.setenv("CRM_TIME_ZONE", "Mars/Olympus")
    with pytest.raises(InvalidSettings) as refused:
        WorkerSettings(**WORKER, crm_url="https://hr.test")
    assert (
        str(refused.value) == "WorkerSettings: CRM_TIME_ZONE='Mars/Olympus': unknown time zone 'Mars/Olympus'"
    )


def test_every_setting_refused_is_named_on_one_line(monkeypatch):
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "three")
    monkeypatch.setenv("CRM_URL", "ftp://hr.test")
    with pytest.raises(InvalidSettings) as refused:
        WorkerSettings(**WORKER)
    message = str(refused.value)
    assert "\n" not in message
    assert "MAX_RECEIVE_COUNT='three': Input should be a valid integer" in message
    assert "CRM_URL='ftp://hr.test': String should match pattern" in message


def test_a_setting_not_set_is_named(monkeypatch):
    monkeypatch.delenv("CRM_URL", raising=False)
    with pytest.raises(InvalidSettings, match=r"^WorkerSettings: CRM_URL is not set$"):
        WorkerSettings(**WORKER)
