"""Every AWS call of the devices API is one the template's role for it allows."""

from datetime import UTC, datetime

from functions.devices import app as devices_app
from tests.integration.permissions import calls_made, refused


def test_the_devices_api_calls_only_what_its_role_allows(api, register, add_punch, stack, template):
    register("REG-ZK9")
    add_punch("REG-ZK9", "U1", datetime.now(UTC).replace(microsecond=0))
    with calls_made() as calls:
        devices_app.dependencies.cache_clear()
        assert api("GET", "/devices").status == 200
        assert api("GET", "/devices/{deviceId}", deviceId="REG-ZK9").status == 200
        assert api("GET", "/devices/{deviceId}/punches", deviceId="REG-ZK9").status == 200
        assert api("POST", "/devices/{deviceId}/disable", deviceId="REG-ZK9").status == 200
        assert api("DELETE", "/devices/{deviceId}", deviceId="REG-ZK9").status == 200
    assert {operation for _, operation, _ in calls} >= {"Query", "BatchGetItem", "Scan", "DeleteItem"}
    assert refused(template, "DevicesFunction", stack, calls) == []
