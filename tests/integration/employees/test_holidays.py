"""The company's holidays: GET /holidays, PUT and DELETE /holidays/{date} through the handler against moto,
and `attendance holidays` on the same tables."""

import json
from datetime import UTC, datetime

from attendance.domain.clock import parse_zone
from tests.integration.employees.conftest import ADMIN_KEY, READ_KEY
from tests.integration.permissions import calls_made, refused

CHRISTMAS = "/holidays/2025-12-25"


def test_an_admin_adds_renames_lists_and_removes_a_holiday(call, template, stack):
    with calls_made() as calls:
        # When an admin adds Christmas Day
        added = call("PUT", CHRISTMAS, {"name": "  Christmas Day "}, key=ADMIN_KEY)
        # Then it is added (201), its name trimmed
        assert (added.status, added.body) == (201, {"date": "2025-12-25", "name": "Christmas Day"})
        # And naming the same date again renames it (200), not a second holiday
        renamed = call("PUT", CHRISTMAS, {"name": "Christmas"}, key=ADMIN_KEY)
        assert (renamed.status, renamed.body) == (200, {"date": "2025-12-25", "name": "Christmas"})
        call("PUT", "/holidays/2025-01-01", {"name": "New Year's Day"}, key=ADMIN_KEY)
        call("PUT", "/holidays/2026-01-01", {"name": "New Year's Day"}, key=ADMIN_KEY)
        # And a reader lists 2025's, in date order, and not 2026's
        listed = call("GET", "/holidays", query={"year": "2025"}, key=READ_KEY)
        assert (listed.status, listed.body) == (
            200,
            {
                "year": 2025,
                "count": 2,
                "holidays": [
                    {"date": "2025-01-01", "name": "New Year's Day"},
                    {"date": "2025-12-25", "name": "Christmas"},
                ],
            },
        )
        # And removing one answers what was removed; removing it again is 404, naming the date
        removed = call("DELETE", CHRISTMAS, key=ADMIN_KEY)
        assert (removed.status, removed.body) == (200, {"date": "2025-12-25", "name": "Christmas"})
        again = call("DELETE", CHRISTMAS, key=ADMIN_KEY)
        assert (again.status, again.body["error"], again.body["message"]) == (
            404,
            "not_found",
            "no holiday on 2025-12-25",
        )
    assert call("GET", "/holidays", query={"year": "2025"}).body["count"] == 1
    # And every call was one the role allows
    assert refused(template, "EmployeesFunction", stack, calls) == []


def test_without_a_year_the_list_is_this_years(call, company_zone):
    this_year = datetime.now(UTC).astimezone(parse_zone(company_zone)).year
    call("PUT", f"/holidays/{this_year}-05-01", {"name": "Labour Day"}, key=ADMIN_KEY)
    reply = call("GET", "/holidays")
    assert (reply.status, reply.body["year"], reply.body["count"]) == (200, this_year, 1)


def test_bad_dates_years_and_names_are_refused_naming_the_problem(call):
    # A date that is not YYYY-MM-DD, or not a day of the calendar
    for path in ("/holidays/25-12-2025", "/holidays/2025-02-30"):
        reply = call("PUT", path, {"name": "Nope"}, key=ADMIN_KEY)
        assert (reply.status, reply.body["error"]) == (400, "invalid_request"), path
        assert "date" in json.dumps(reply.body["details"]), reply.body
    # An empty or blank name, a name too long, or a field the contract lacks
    for body in ({"name": "   "}, {"name": "x" * 129}, {"name": "Holiday", "paid": True}, {}):
        reply = call("PUT", CHRISTMAS, body, key=ADMIN_KEY)
        assert (reply.status, reply.body["error"]) == (400, "invalid_request"), body
    # A year out of range, to list or on a holiday's date (where no list would ever show it)
    reply = call("GET", "/holidays", query={"year": "1999"})
    assert (reply.status, reply.body["error"]) == (400, "invalid_request")
    for path in ("/holidays/1999-12-25", "/holidays/2101-01-01"):
        reply = call("PUT", path, {"name": "Too far"}, key=ADMIN_KEY)
        assert (reply.status, reply.body["error"]) == (400, "invalid_request"), path
        assert "in the years 2000 to 2100" in json.dumps(reply.body["details"]), reply.body
    # And nothing was stored by any of them
    assert call("GET", "/holidays", query={"year": "2025"}).body["holidays"] == []


def test_a_read_key_may_list_but_not_change_holidays(call):
    reply = call("PUT", CHRISTMAS, {"name": "Christmas Day"}, key=READ_KEY)
    assert (reply.status, reply.body["error"]) == (403, "forbidden")
    assert call("GET", "/holidays", query={"year": "2025"}).body["count"] == 0


def test_the_cli_adds_lists_and_removes_holidays(cli, call):
    # When office IT adds two holidays from the command line, and renames one
    assert "added 'Good Friday' on 2025-04-18" in cli("holidays", "add", "2025-04-18", "Good Friday").output
    cli("holidays", "add", "2025-04-21", "Easter Monday")
    renamed = cli("holidays", "add", "2025-04-21", "Easter Mon.")
    assert "renamed 'Easter Monday' to 'Easter Mon.' on 2025-04-21" in renamed.output
    # Then the API lists them, as the dashboard will
    assert call("GET", "/holidays", query={"year": "2025"}).body["holidays"] == [
        {"date": "2025-04-18", "name": "Good Friday"},
        {"date": "2025-04-21", "name": "Easter Mon."},
    ]
    # And the CLI lists them too, as JSON for a script
    listed = json.loads(cli("--json", "holidays", "list", "--year", "2025").output)
    assert [holiday["date"] for holiday in listed] == ["2025-04-18", "2025-04-21"]
    # And removing one that is not there is a not-found exit; a bad date or a blank name a usage error
    cli("holidays", "remove", "2025-04-18")
    assert "no holiday on 2025-04-18" in cli("holidays", "remove", "2025-04-18", expect=1).output
    assert "not a date" in cli("holidays", "add", "18.04.2025", "Good Friday", expect=2).output
    cli("holidays", "add", "2025-04-18", "  ", expect=2)
