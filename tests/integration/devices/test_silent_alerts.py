"""The scheduled check: one notification when a device falls silent, one when it is back, none in between."""

from datetime import UTC, datetime, timedelta

from attendance.domain.health import Contact

T0 = datetime(2030, 1, 1, 8, tzinfo=UTC)


def test_silence_then_return_notify_exactly_once_each(register, registry, check, notifications):
    # Given a device with a 15-minute threshold, last heard from at T0, and one never heard from
    register("AL-ZK1", name="Front door", site="berlin-hq", silentAfterMinutes=15)
    register("AL-NEVER")
    registry.record_contact("AL-ZK1", Contact(via="adms"), T0)

    # When the check runs every minute for 20 minutes
    runs = [check(T0 + timedelta(minutes=m)) for m in range(1, 21)]

    # Then it was online until the threshold passed, then silent, with exactly one notification
    assert [run["states"]["online"] for run in runs[:15]] == [1] * 15
    assert [run["states"]["silent"] for run in runs[15:]] == [1] * 5
    assert [run["alerts"] for run in runs if run["alerts"]] == [[{"deviceId": "AL-ZK1", "alert": "silent"}]]
    [silent] = notifications()
    assert silent["Subject"] == "Device AL-ZK1 is silent"
    assert (
        "Device AL-ZK1 (Front door) at berlin-hq has not been heard from since 2030-01-01T08:00:00Z"
        in silent["Message"]
    )

    # When it calls again, and the check keeps running
    registry.record_contact("AL-ZK1", Contact(via="adms"), T0 + timedelta(minutes=21))
    later = [check(T0 + timedelta(minutes=m)) for m in range(21, 25)]

    # Then exactly one "back online" went out
    assert [run["alerts"] for run in later if run["alerts"]] == [
        [{"deviceId": "AL-ZK1", "alert": "back_online"}]
    ]
    assert [n["Subject"] for n in notifications()] == [
        "Device AL-ZK1 is silent",
        "Device AL-ZK1 is back online",
    ]
    # and the never-seen device raised nothing throughout
    assert all(run["states"]["never_seen"] == 1 for run in runs + later)


def test_a_disabled_device_raises_nothing(api, register, registry, check, notifications):
    # Given a device last heard from long ago, and then disabled
    register("AL-ZK2")
    registry.record_contact("AL-ZK2", Contact(via="adms"), T0)
    api("POST", "/devices/{deviceId}/disable", deviceId="AL-ZK2")

    # When the check runs an hour later
    run = check(T0 + timedelta(hours=1))

    # Then it counts as disabled and nobody is notified
    assert (run["states"]["disabled"], run["alerts"]) == (1, [])
    assert notifications() == []


def test_two_concurrent_checks_alert_once(register, registry, check, notifications):
    # Given a silent device, and two checks that both read it as not yet alerted
    register("AL-ZK3")
    registry.record_contact("AL-ZK3", Contact(via="adms"), T0)

    # When both claim the alert
    claims = [registry.mark_alerted("AL-ZK3", True), registry.mark_alerted("AL-ZK3", True)]

    # Then only one wins (the loser's check sends nothing), and a check afterwards sends nothing either
    assert claims == [True, False]
    assert check(T0 + timedelta(hours=1))["alerts"] == []
    assert notifications() == []


def test_a_one_minute_threshold_is_said_in_the_singular(register, registry, check, notifications):
    register("AL-ZK2", silentAfterMinutes=1)
    registry.record_contact("AL-ZK2", Contact(via="adms"), T0)
    check(T0 + timedelta(minutes=3))
    [silent] = notifications()
    assert "(more than 1 minute;" in silent["Message"]
