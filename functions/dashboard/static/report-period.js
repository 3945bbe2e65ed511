// The Reports page's pay period: everyone's totals over at most 31 days, one line per employee, as payroll
// reads them (GET /reports/period), with the days someone should look at before the hours are paid.
import { api, employeeCell, h, table, today } from "./core.js";
import { LEAVE_KINDS } from "./employee-leave.js";
import { count, departmentInput, download, field, resultArea, safe } from "./report-parts.js";
import { byHand, duration } from "./workdays.js";

const MAX_DAYS = 31; // the API's limit (it answers 422 beyond it, with the reason)

/** The first and last day (YYYY-MM-DD) of the month `offset` months from `day`'s; this month ends on `day`. */
export function monthOf(day, offset) {
  const [year, month] = day.split("-").map(Number);
  const iso = (moment) => moment.toISOString().slice(0, 10);
  const first = iso(new Date(Date.UTC(year, month - 1 + offset, 1)));
  return [first, offset === 0 ? day : iso(new Date(Date.UTC(year, month + offset, 0)))];
}

/**
 * The panel. `openDay(date, userId)` shows a day's report (an anomaly to fix), `openTimesheet(userId, from,
 * to)` an employee's days over the period: both in the page's own panels, so the totals stay in view.
 */
export function periodPanel({ openDay, openTimesheet }) {
  const [first, last] = monthOf(today(), 0);
  const from = h("input", { id: "period-from", name: "from", type: "date", required: true, value: first });
  const to = h("input", { id: "period-to", name: "to", type: "date", required: true, value: last });
  const department = departmentInput("period-department");
  const result = resultArea(h("p", { class: "empty" }, "Choose the period, then Show totals."));
  let asked = 0;

  async function run() {
    if (!form.reportValidity()) return;
    const query = { from: from.value, to: to.value, department: department.value() };
    const ticket = ++asked;
    result.wait("the pay period");
    try {
      const period = await api("/reports/period", { query });
      if (ticket !== asked) return; // a newer request is on its way
      const range = `${query.from} to ${query.to}`;
      const of = query.department ? ` in ${query.department}` : "";
      const file = `period-${query.from}-${query.to}${query.department ? `-${safe(query.department)}` : ""}.csv`;
      result.show(
        `${count(period.rows.length, "employee")}${of}, ${range}.${summary(period.rows)}`,
        download("/reports/period", query, file),
        table({
          caption: `Pay period ${range}${of}, one line per employee`,
          columns: columns(query, openDay, openTimesheet),
          rows: period.rows,
          key: (row) => row.userId,
          empty: `No punches${of} from ${range}.`,
        }),
      );
    } catch (error) {
      if (ticket === asked) result.fail(error); // e.g. the API's "a pay period covers at most 31 days"
    }
  }

  const month = (offset, label) => h("button", {
    type: "button", class: "secondary",
    onclick: () => { [from.value, to.value] = monthOf(today(), offset); run(); },
  }, label);

  const form = h("form", { class: "inline report-form", onsubmit: (event) => { event.preventDefault(); run(); } },
    field("period-from", "From", from),
    field("period-to", "To", to),
    field("period-department", "Department (optional)", ...department.nodes),
    h("button", { type: "submit" }, "Show totals"),
    h("div", { class: "day-steps", role: "group", "aria-label": "A whole month" },
      month(-1, "Last month"), month(0, "This month")));

  const panel = h("section", { class: "card report-panel", "aria-labelledby": "period-title" },
    h("h2", { id: "period-title" }, "Pay period"),
    h("p", { class: "muted" },
      `Everyone's (or a department's) totals over at most ${MAX_DAYS} days, one line per employee: what payroll reads. ` +
      "Each total adds up the employee's timesheet rows. A day to check opens in the daily report. " +
      "Scheduled days follow each employee's schedule (or the default), less the holidays below; " +
      "an absence is a scheduled day over without a punch. A scheduled day on leave (recorded on the employee's page) " +
      "is no absence: it is counted by kind."),
    form, result.node);

  return {
    panel,
    run,
    refresh() { if (asked) run(); }, // the holidays changed: totals shown are read again
    fill(start, end) {
      if (start) from.value = start;
      if (end) to.value = end;
    },
  };
}

function summary(rows) {
  if (!rows.length) return "";
  const sum = (name) => rows.reduce((total, row) => total + row[name], 0);
  const toCheck = rows.filter((row) => checkDays(row).length).length;
  const check = toCheck ? ` ${count(toCheck, "employee")} with days to check.` : "";
  const silent = rows.filter((row) => !row.workDays).length;
  const unheard = silent ? ` ${silent} without a punch.` : "";
  const absences = rows.reduce((total, row) => total + row.absentDays.length, 0);
  const absent = absences ? ` ${count(absences, "absent day")} in all.` : "";
  const away = awayBy(sum);
  const leaveDays = away.reduce((total, [days]) => total + days, 0);
  const kinds = away.map(([days, kind]) => `${days} ${kind}`).join(", ");
  const leave = leaveDays ? ` ${count(leaveDays, "day")} on leave (${kinds}).` : "";
  return ` Worked ${duration(sum("workedMinutes"))} in all, overtime ${duration(sum("overtimeMinutes"))}.${check}${unheard}${absent}${leave}`;
}

// A line's scheduled days on leave, by kind: the API's field and the word for it.
const LEAVE = [["vacationDays", "vacation"], ["sickDays", "sick"], ["unpaidLeaveDays", "unpaid"], ["otherLeaveDays", "other"]];

/** [days, kind] of each kind with days on leave, `days(field)` reading the API's field. */
const awayBy = (days) => LEAVE.map(([name, kind]) => [days(name), kind]).filter(([n]) => n);

/** "2 on vacation", or "3 on leave: 2 vacation, 1 sick"; null without leave. */
function leaveText(row) {
  const away = awayBy((name) => row[name] ?? 0);
  if (!away.length) return null;
  if (away.length === 1) return `${away[0][0]} on ${LEAVE_KINDS[away[0][1]]}`;
  const total = away.reduce((sum, [days]) => sum + days, 0);
  return `${total} on leave: ${away.map(([days, kind]) => `${days} ${kind}`).join(", ")}`;
}

function columns(query, openDay, openTimesheet) {
  const onDays = (minutes, days) => h("span", {}, duration(minutes),
    days ? [" ", h("span", { class: "muted small period-days" }, `on ${count(days, "day")}`)] : null);
  return [
    { label: "Employee", cell: (row) => employeeCell(row.userId, row.name) },
    { label: "Days", cell: workDays },
    { label: "Worked", cell: (row) => duration(row.workedMinutes) },
    { label: "Break", cell: (row) => duration(row.breakMinutes) },
    { label: "Overtime", cell: (row) => duration(row.overtimeMinutes) },
    { label: "Late", cell: (row) => onDays(row.lateMinutes, row.lateDays) },
    { label: "Left early", cell: (row) => onDays(row.earlyLeaveMinutes, row.earlyLeaveDays) },
    { label: "Punches", cell: (row) => h("span", {}, String(row.punches), byHand(row)) },
    { label: "Absent", cell: absentDays },
    { label: "To check", cell: (row) => daysToCheck(row, openDay) },
    {
      label: "Timesheet",
      cell: (row) => h("button", {
        type: "button", class: "secondary small-button",
        "aria-label": `Timesheet of ${row.userId}, ${query.from} to ${query.to}`,
        onclick: () => openTimesheet(row.userId, query.from, query.to),
      }, "Timesheet"),
    },
  ];
}

/** Days worked, against the days scheduled (and the holidays on them, and the scheduled days on leave, by
 * kind) when the employee has a schedule; without one, someone in the directory with no punch at all (on
 * leave, or a clock that never heard them). */
function workDays(row) {
  const note = (text) => [" ", h("span", { class: "muted small period-days" }, text)];
  if (row.scheduledDays === null) return h("span", {}, String(row.workDays), row.workDays ? null : note("no punch"));
  const holidays = row.holidays ? `, ${count(row.holidays, "holiday")}` : "";
  const leave = leaveText(row);
  return h("span", {}, String(row.workDays), note(`of ${row.scheduledDays} scheduled${holidays}`),
    leave ? [" ", h("span", { class: "small period-days period-leave" }, leave)] : null);
}

/** The scheduled days over without a punch: how many, and which. */
function absentDays(row) {
  if (!row.absentDays.length) return "–";
  return h("span", {}, String(row.absentDays.length),
    h("ul", { class: "period-absent muted small" }, row.absentDays.map((day) => h("li", {}, day))));
}

/** The work days to look at before payroll: those with an anomaly, and those with a punch an admin added by
 * hand, in date order. */
function checkDays(row) {
  return [...new Set([...row.anomalyDays, ...row.addedByHandDays])].sort();
}

/** The days to check, each a button that opens that day's report for the employee; a day checked only for
 * a punch added by hand says so. */
function daysToCheck(row, openDay) {
  const days = checkDays(row);
  if (!days.length) return "–";
  return h("ul", { class: "period-check" }, days.map((day) => h("li", {},
    h("button", {
      type: "button", class: "secondary small-button",
      "aria-label": `The daily report of ${row.userId} on ${day}`,
      onclick: () => openDay(day, row.userId),
    }, day),
    row.anomalyDays.includes(day) ? null : h("div", { class: "muted small" }, "added by hand"))));
}
