"""The README's screenshots of the web dashboard, taken from a real run: a local stack with two devices,
three employees and a morning of punches (one of them from an unknown employee, which the CRM refuses for
good) after a day one of them forgot to check out, some leave in the week before and a vacation to come,
each page opened in headless Chromium, signed in as an admin.

Writes docs/screenshots/<page>.png at 1280 px wide, and live-phone.png at 390 px.
Run: `make screenshots` (or `python -m bench.dashboard_screenshots`); needs Chromium, as the browser tests do.
"""

import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from local_stack.running import ROOT, RunningStack, running_local_stack
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS

API_KEY = "screenshots-key"
OUT = ROOT / "docs" / "screenshots"
WAIT_MS = 30_000
DESKTOP = {"width": 1280, "height": 720}
MAX_HEIGHT = 1400  # a long page is cut here: the README shows its top
PHONE = {"width": 390, "height": 844}

DEVICES = [
    {"deviceId": "FRONT-DOOR", "kind": "zkteco", "serial": "ZK24000117", "name": "Front door", "site": "HQ"},
    {"deviceId": "WAREHOUSE", "kind": "hikvision", "name": "Warehouse gate", "site": "Depot"},
]
EMPLOYEES = {
    "EMP001": {"name": "Anna Berg", "department": "Sales", "vacationDaysPerYear": 25},
    "EMP002": {"name": "Ben Okafor", "department": "Warehouse"},
    "EMP003": {"name": "Chen Li", "department": "Support"},
}
# Someone who left the company two weeks ago: listed as left, not counted absent
LEFT, DAYS_SINCE_LEFT = ("EMP004", {"name": "Dana Novak", "department": "Sales"}), 14
# (minutes before now, device, employee, type)
PUNCHES = [
    (185, "FRONT-DOOR", "EMP001", "in"),
    (170, "WAREHOUSE", "EMP002", "in"),
    (150, "FRONT-DOOR", "EMP003", "in"),
    (95, "WAREHOUSE", "EMP002", "break_out"),
    (70, "WAREHOUSE", "EMP002", "break_in"),
    (40, "FRONT-DOOR", "EMP003", "out"),
    (12, "FRONT-DOOR", "UNKNOWN-4711", "in"),  # not in the CRM: dead-lettered at once
    (3, "FRONT-DOOR", "EMP001", "break_out"),
    (30, "WAREHOUSE", "EMP002", "in"),  # a check-out the terminal took for a check-in: corrected (WRONG_TYPE)
]
WRONG_TYPE = {"userId": "EMP002", "type": "in", "correctedType": "out"}
# The company's zone is one where it is late morning when the pictures are taken, so that the punches above
# (minutes before now) make a morning, whatever the hour here: one zone for each hour of offset, near enough
ZONES = [
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Halifax",
    "America/Sao_Paulo",
    "Atlantic/South_Georgia",
    "Atlantic/Azores",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Athens",
    "Europe/Moscow",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Brisbane",
    "Pacific/Noumea",
    "Pacific/Auckland",
]
LATE_MORNING = 11 * 60  # minutes after midnight
# Leave in the pay period's week (a sick day, a vacation over the holiday) and a vacation booked: (employee,
# kind, note); their days are set by leave_days()
LEAVE = [
    ("EMP001", "sick", None),
    ("EMP002", "vacation", "Family visit"),
    ("EMP001", "vacation", "Agreed with the team"),
]
# Yesterday at 09:02 the front door recorded Chen coming in, and nothing after: a day for HR to check
FORGOTTEN_OUT = {"deviceId": "FRONT-DOOR", "userId": "EMP003", "type": "in"}
# Sent while the Live page is open, so it shows punches arriving: (device, employee, type)
LIVE_PUNCHES = {
    "live": [
        ("FRONT-DOOR", "EMP003", "in"),
        ("FRONT-DOOR", "UNKNOWN-0815", "in"),
        ("FRONT-DOOR", "EMP001", "break_in"),
    ],
    "live-phone": [("WAREHOUSE", "EMP002", "out")],  # each employee's punches a minute apart: no duplicates
}
LOADED = "() => !document.querySelector('.loading')"
# What a page's screenshot shows opened: the first match of a selector, clicked once the page has loaded.
OPENED = {"employee": ".employee-recent .day-punches-toggle"}  # the latest day's punches
# What a page's screenshot shows of it, when not the page from its top: the first match of a selector.
PART = {  # the period's totals; the year's holidays
    "reports-period": "section[aria-labelledby=period-title]",
    "reports-holidays": "section[aria-labelledby=holidays-title]",
}
# (file, route, viewport)
PAGES = [
    ("live", "#/live", DESKTOP),
    ("devices", "#/devices", DESKTOP),
    ("device", "#/devices/FRONT-DOOR", DESKTOP),
    ("employees", "#/employees", DESKTOP),
    ("employee", "#/employees/EMP001", DESKTOP),
    ("reports", "#/reports/timesheet/EMP002", DESKTOP),
    ("reports-period", "#/reports/period/{week_ago}/{today}", DESKTOP),  # dates in the company's zone
    ("reports-holidays", "#/reports/holidays", DESKTOP),
    ("deliveries", "#/deliveries", DESKTOP),
    ("live-phone", "#/live", PHONE),
]


def call(stack: RunningStack, method: str, path: str, body: Any = None) -> Any:
    reply = httpx.request(
        method,
        stack.api_url + path,
        headers={"Authorization": f"Bearer {API_KEY}"},
        json=body,
        timeout=30,
    )
    if reply.status_code >= 400:
        raise RuntimeError(f"{method} {path}: {reply.status_code} {reply.text}")
    return reply.json() if reply.content else None


def company_zone(stack: RunningStack) -> ZoneInfo:
    page = httpx.get(stack.api_url + "/", timeout=30).text
    return ZoneInfo(page.split('name="company-zone" content="', 1)[1].split('"', 1)[0])


def seed(stack: RunningStack) -> None:
    """Devices, employees, the day before's forgotten check-out and a morning of punches (none of them before
    today's midnight in the company's zone)."""
    zone = company_zone(stack)
    for device in DEVICES:
        registered = call(stack, "POST", "/devices", device | {"timeZone": zone.key})
        # Heard from, as the devices themselves would be: the clock's ADMS handshake, the terminal's heartbeat
        if device["kind"] == "zkteco":
            httpx.get(
                stack.api_url + "/iclock/cdata", params={"SN": device["serial"]}, timeout=30
            ).raise_for_status()
        else:
            httpx.post(registered["pushUrl"], json={"eventType": "heartBeat"}, timeout=30).raise_for_status()
    schedule = {
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "09:00",
        "end": "17:00",
        "timeZone": zone.key,
        # from well before the days shown: a schedule applies from a day on
        "effectiveFrom": (datetime.now(zone).date() - timedelta(days=400)).isoformat(),
    }
    for user, entry in EMPLOYEES.items():
        call(stack, "PUT", f"/employees/{user}", entry | {"schedule": schedule})
    last_day = datetime.now(zone).date() - timedelta(days=DAYS_SINCE_LEFT)
    call(stack, "PUT", f"/holidays/{a_recent_weekday(zone)}", {"name": "Founders' Day"})  # in the week shown
    call(stack, "PUT", f"/employees/{LEFT[0]}", LEFT[1] | {"leftOn": last_day.isoformat()})
    for (user, kind, note), (first, last) in zip(LEAVE, leave_days(zone), strict=True):
        body = {"to": last.isoformat(), "kind": kind} | ({"note": note} if note else {})
        call(stack, "PUT", f"/employees/{user}/leave/{first.isoformat()}", body)
    now = datetime.now(UTC).replace(microsecond=0)
    midnight = datetime.combine(now.astimezone(zone).date(), datetime.min.time(), zone).astimezone(UTC)
    for offset, (minutes, device, user, kind) in enumerate(PUNCHES):
        at = max(now - timedelta(minutes=minutes), midnight + timedelta(minutes=offset + 1))
        punch = {"deviceId": device, "userId": user, "timestamp": at.isoformat(), "type": kind}
        call(stack, "POST", "/punches", punch)
    yesterday = datetime.combine(now.astimezone(zone).date() - timedelta(days=1), datetime.min.time(), zone)
    call(
        stack,
        "POST",
        "/punches",
        FORGOTTEN_OUT | {"timestamp": (yesterday + timedelta(hours=9, minutes=2)).isoformat()},
    )
    # Until every punch has been delivered or dead-lettered: the pages then show settled states.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = [
            punch
            for device in DEVICES
            for punch in call(stack, "GET", f"/devices/{device['deviceId']}/punches")["punches"]
        ]
        if len(rows) >= len(PUNCHES) and all(row["syncStatus"] != "pending" for row in rows):
            correct(stack, rows)
            return
        time.sleep(0.5)
    print("some punches are still pending; the screenshots show them so", file=sys.stderr)


def a_recent_weekday(zone: ZoneInfo) -> date:
    """The weekday nearest before three days ago: in the week the pay period screenshot shows."""
    day = datetime.now(zone).date() - timedelta(days=3)
    while day.weekday() > 4:
        day -= timedelta(days=1)
    return day


def leave_days(zone: ZoneInfo) -> list[tuple[date, date]]:
    """The first and last days of each LEAVE: the week's first weekday that is neither the holiday nor one
    with punches (yesterday, today); from it to the last such, over the holiday; and two weeks from Monday
    in three weeks."""
    today = datetime.now(zone).date()
    holiday = a_recent_weekday(zone)
    free = [
        day
        for day in (today - timedelta(days=back) for back in range(6, 1, -1))
        if day.weekday() < 5 and day != holiday
    ]
    monday = today + timedelta(days=21 - today.weekday())
    return [(free[0], free[0]), (free[0], free[-1]), (monday, monday + timedelta(days=11))]


def correct(stack: RunningStack, rows: list[dict[str, Any]]) -> None:
    """The punch of the wrong type voided with the type it should have had, until it is added again so."""
    ins = [row for row in rows if (row["userId"], row["type"]) == (WRONG_TYPE["userId"], WRONG_TYPE["type"])]
    wrong = max(ins, key=lambda row: row["punchTime"])  # the day's later in
    body = {
        "reason": "the terminal took the check-out for a check-in",
        "correctedType": WRONG_TYPE["correctedType"],
    }
    call(stack, "POST", f"/punches/{wrong['logId']}/void", body)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if call(stack, "GET", "/deliveries/voids")["voids"][0]["syncStatus"] == "voided":
            return
        time.sleep(0.5)
    print("the correction is still being made; the screenshots show it so", file=sys.stderr)


def settled(tab: Any, condition: str, otherwise: str) -> None:
    """Waits for `condition` (JavaScript) on the page; when it never holds, says so and goes on."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        tab.wait_for_function(condition, timeout=WAIT_MS)
    except PlaywrightTimeout:
        print(otherwise, file=sys.stderr)


def shoot(stack: RunningStack) -> list[Path]:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    today = datetime.now(company_zone(stack)).date()
    dates = {"today": today.isoformat(), "week_ago": (today - timedelta(days=6)).isoformat()}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for name, route, viewport in PAGES:
            context = browser.new_context(viewport=viewport)
            tab = context.new_page()
            tab.set_default_timeout(WAIT_MS)
            problems: list[str] = []
            tab.on(
                "console",
                lambda message, p=problems: p.append(message.text) if message.type == "error" else None,
            )
            tab.on("pageerror", lambda error, p=problems: p.append(str(error)))
            tab.goto(stack.api_url + "/")
            tab.get_by_label("API key").fill(API_KEY)
            tab.get_by_role("button", name="Sign in").click()
            tab.locator('#feed-status[data-state="online"]').wait_for()
            tab.goto(f"{stack.api_url}/{route.format(**dates)}")
            tab.locator("#page-title").wait_for()
            settled(tab, LOADED, f"{name}: still loading")
            if name in OPENED:
                tab.locator(OPENED[name]).first.click()
                settled(tab, LOADED, f"{name}: still loading what it opened")
            for device, user, kind in LIVE_PUNCHES.get(name, []):
                rows_of_user = f"[...document.querySelectorAll('main tbody tr')].filter(r => r.textContent.includes('{user}')).length"
                before = tab.evaluate(f"() => {rows_of_user}")
                now = datetime.now(UTC).replace(microsecond=0).isoformat()
                call(
                    stack,
                    "POST",
                    "/punches",
                    {"deviceId": device, "userId": user, "timestamp": now, "type": kind},
                )
                settled(tab, f"() => {rows_of_user} > {before}", f"{name}: {user}'s punch did not appear")
                time.sleep(1.1)  # a second apart: they arrive in order, as people at a door would
            tab.wait_for_timeout(800)  # let the last rows and fonts settle; not a measurement
            path = OUT / f"{name}.png"
            if name in PART:
                tab.locator(PART[name]).first.screenshot(path=path)
            elif viewport is PHONE:
                tab.screenshot(path=path)  # one phone screen
            else:
                height = min(tab.evaluate("() => document.documentElement.scrollHeight"), MAX_HEIGHT)
                tab.screenshot(
                    path=path,
                    full_page=True,
                    clip={"x": 0, "y": 0, "width": viewport["width"], "height": height},
                )
            written.append(path)
            if problems:
                print(f"{name}: errors in the browser console: {problems}", file=sys.stderr)
            context.close()
        browser.close()
    return written


def late_morning_zone(now: datetime) -> str:
    """The zone of ZONES whose clock is nearest to LATE_MORNING at `now`."""

    def off_by(zone: str) -> int:
        local = now.astimezone(ZoneInfo(zone))
        return abs(local.hour * 60 + local.minute - LATE_MORNING)

    return min(ZONES, key=off_by)


def main() -> int:
    if not CHROMIUM.exists():
        print(
            f"Chromium is not installed at {CHROMIUM}: run `make browser`, or set CHROMIUM=/path/to/chromium"
        )
        return 1
    zone = late_morning_zone(datetime.now(UTC))
    with running_local_stack(
        API_KEY, LOCAL_SCHEDULE_SECONDS="5", LOCAL_PARAMETERS=f"DefaultTimeZone={zone}"
    ) as stack:
        seed(stack)
        for path in shoot(stack):
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
