// The reports page: the daily report, an employee's timesheet and a pay period's totals, as tables, each
// with a download of the API's own CSV (format=csv), and the company's holidays the pay period counts.
// Routes: #/reports, #/reports/daily/<date>[/<userId>], #/reports/timesheet/<userId>[/<from>/<to>] (an
// employee's page links here), #/reports/period[/<from>/<to>], #/reports/holidays.
import { api, employeeCell, h, table, today, useStyles, zone } from "./core.js";
import { dayPunches, withPunchesColumn } from "./day-punches.js";
import { LEAVE_KINDS } from "./employee-leave.js";
import { count, departmentInput, download, field, resultArea, safe } from "./report-parts.js";
import { holidaysPanel } from "./report-holidays.js";
import { periodPanel } from "./report-period.js";
import { duration, workDayColumns } from "./workdays.js";

const MAX_DAYS = 31; // the API's limit for a timesheet (it answers 422 beyond it, with the reason)
const USER_PATTERN = "[A-Za-z0-9._:@\\/+\\-]+"; // the API's pattern for an employee ID
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export async function render(view, params = []) {
  useStyles("page-reports.css");
  const [kind, ...rest] = params;
  const daily = dailyPanel();
  const sheet = timesheetPanel();
  const show = (panel, ...values) => { // fill a panel in, run it and bring it into view
    panel.fill(...values);
    panel.run();
    panel.panel.scrollIntoView({ block: "start" });
  };
  const period = periodPanel({ // a line of the totals opens a day or a timesheet here, the totals kept
    openDay: (day, userId) => show(daily, day, userId),
    openTimesheet: (userId, first, last) => show(sheet, userId, first, last),
  });
  const holidays = holidaysPanel({ changed: () => period.refresh() });
  const dated = (value) => (DATE.test(value || "") ? value : undefined);
  view.replaceChildren(
    h("h1", { id: "page-title" }, "Reports"),
    h("p", { class: "muted reports-intro" },
      `Work days computed from the punches, times in ${zone}. Download CSV saves the API's own file (format=csv).`),
    h("div", { class: "reports-panels" }, daily.panel, sheet.panel, period.panel, holidays.panel),
  );

  if (kind === "daily") daily.fill(dated(rest[0]), rest[1]);
  daily.run();
  if (kind === "timesheet" && rest[0]) show(sheet, rest[0], dated(rest[1]), dated(rest[2])); // from an employee's page
  if (kind === "period") show(period, dated(rest[0]), dated(rest[1]));
  holidays.load();
  if (kind === "holidays") holidays.panel.scrollIntoView({ block: "start" });

  return () => {
    daily.day.stop();
    sheet.day.stop();
  };
}

// ---- the daily report and the timesheet ----

/** The date `days` after `day` (both YYYY-MM-DD). */
function shiftDay(day, days) {
  const [year, month, date] = day.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, date + days)).toISOString().slice(0, 10);
}

function dailyPanel() {
  const date = h("input", { id: "daily-date", name: "date", type: "date", required: true, value: today() });
  const user = employeeInput("daily-user", false);
  const department = departmentInput("daily-department");
  const result = resultArea();
  const day = dayPunches(() => run()); // a punch voided: the report is read again
  let asked = 0;

  async function run() {
    if (!form.reportValidity()) return;
    const query = { date: date.value, userId: user.value.trim() || undefined, department: department.value() };
    const ticket = ++asked;
    result.wait("the daily report");
    try {
      const report = await api("/reports/daily", { query });
      if (ticket !== asked) return; // a newer request is on its way
      // The address names the day shown (a step to the day before, say), so that a reload or a link keeps it.
      const address = `#/reports/daily/${query.date}${query.userId ? `/${encodeURIComponent(query.userId)}` : ""}`;
      if (location.hash !== address) history.replaceState(null, "", address);
      day.reload(report.rows);
      const who = `${query.userId ? ` for ${query.userId}` : ""}${query.department ? ` in ${query.department}` : ""}`;
      const absent = report.absent.length ? ` ${report.absent.length} absent.` : "";
      const onLeave = report.onLeave?.length ? ` ${report.onLeave.length} on leave.` : "";
      result.show(
        `${count(report.rows.length, "employee")} on ${query.date}${who}.${absent}${onLeave}`,
        download("/reports/daily", query, `daily-${query.date}.csv`),
        h("div", {},
          table({
            caption: `Daily report, ${query.date}${who}`,
            columns: withPunchesColumn(workDayColumns(report.rows, { user: true }), day),
            rows: report.rows,
            key: (row) => row.userId,
            empty: `No punches${who} on ${query.date}.`,
          }),
          absentList(report.absent, query.date),
          onLeaveList(report.onLeave ?? [], query.date)),
      );
    } catch (error) {
      if (ticket === asked) result.fail(error);
    }
  }

  // Yesterday's report is the one most often read: a step either way, without the date picker.
  const step = (days, label) => h("button", {
    type: "button", class: "secondary",
    onclick: () => { if (DATE.test(date.value)) date.value = shiftDay(date.value, days); run(); },
  }, label);

  const form = h("form", { class: "inline report-form", onsubmit: (event) => { event.preventDefault(); run(); } },
    field("daily-date", "Date", date),
    field("daily-user", "Employee ID (optional)", user),
    field("daily-department", "Department (optional)", ...department.nodes),
    h("button", { type: "submit" }, "Show report"),
    h("div", { class: "day-steps", role: "group", "aria-label": "Another day" }, step(-1, "Day before"), step(1, "Day after")));

  const panel = h("section", { class: "card report-panel", "aria-labelledby": "daily-title" },
    h("h2", { id: "daily-title" }, "Daily report"),
    h("p", { class: "muted" }, "Everyone who punched on a day, one department or one employee, who was expected and did not come, and who was on leave."),
    form, result.node, day.panel);

  return {
    panel,
    run,
    day,
    fill(workDay, userId) {
      if (workDay) date.value = workDay;
      if (userId) {
        user.value = userId;
        department.fill(""); // the employee asked for, whatever department the field held
      }
    },
  };
}

function timesheetPanel() {
  const user = employeeInput("sheet-user", true);
  const end = today();
  const from = h("input", { id: "sheet-from", name: "from", type: "date", required: true, value: `${end.slice(0, 8)}01` });
  const to = h("input", { id: "sheet-to", name: "to", type: "date", required: true, value: end });
  const result = resultArea(
    h("p", { class: "empty" }, `One employee's work days over at most ${MAX_DAYS} days: enter an employee ID.`));
  const day = dayPunches(() => run()); // a punch voided: the timesheet is read again
  let asked = 0;

  async function run() {
    if (!form.reportValidity()) return;
    const query = { userId: user.value.trim(), from: from.value, to: to.value };
    const ticket = ++asked;
    result.wait("the timesheet");
    try {
      const sheet = await api("/reports/timesheet", { query });
      if (ticket !== asked) return;
      day.reload(sheet.rows);
      const range = `${query.from} to ${query.to}`;
      const name = sheet.rows.find((row) => row.name)?.name;
      const who = name ? `${name} (${query.userId})` : query.userId;
      result.show(
        `${count(sheet.rows.length, "work day")} for ${who}, ${range}.${totals(sheet.rows)}`,
        download("/reports/timesheet", query, `timesheet-${safe(query.userId)}-${query.from}-${query.to}.csv`),
        table({
          caption: `Timesheet for ${who}, ${range}`,
          columns: withPunchesColumn(workDayColumns(sheet.rows, { date: true }), day),
          rows: sheet.rows,
          key: (row) => row.date,
          empty: `No punches from ${query.userId} from ${range}.`,
        }),
      );
    } catch (error) {
      if (ticket === asked) result.fail(error); // e.g. the API's "a timesheet covers at most 31 days"
    }
  }

  const form = h("form", { class: "inline report-form", onsubmit: (event) => { event.preventDefault(); run(); } },
    field("sheet-user", "Employee ID", user),
    field("sheet-from", "From", from),
    field("sheet-to", "To", to),
    h("button", { type: "submit" }, "Show timesheet"));

  const panel = h("section", { class: "card report-panel", "aria-labelledby": "sheet-title" },
    h("h2", { id: "sheet-title" }, "Timesheet"),
    h("p", { class: "muted" }, `One employee, day by day, over at most ${MAX_DAYS} days.`),
    form, result.node, day.panel);

  return {
    panel,
    run,
    day,
    fill(userId, first, last) {
      user.value = userId;
      if (first) from.value = first;
      if (last) to.value = last;
    },
  };
}

function employeeInput(id, required) {
  return h("input", {
    id, name: "userId", type: "text", required, maxlength: "64", pattern: USER_PATTERN, autocomplete: "off",
    spellcheck: "false", title: "Letters, digits and . _ : @ / + -",
  });
}

/** Who was expected on the day (their schedule, not a holiday, employed then) and has not punched: their
 * page a click away. Not in the CSV, whose lines are work days. */
function absentList(people, date) {
  if (!people.length) return null;
  return h("div", { class: "absent-list" },
    h("h3", { id: "daily-absent-title" }, `Absent on ${date}`),
    h("ul", { "aria-labelledby": "daily-absent-title" }, people.map((person) => h("li", {},
      employeeCell(person.userId, person.name),
      h("span", { class: "muted small" }, [person.department, person.schedule].filter(Boolean).join(" · "))))));
}

/** Who the schedule expected on the day and was on leave (so not absent), with the kind: their page a click
 * away, where the leave is recorded. */
function onLeaveList(people, date) {
  if (!people.length) return null;
  return h("div", { class: "absent-list on-leave-list" },
    h("h3", { id: "daily-leave-title" }, `On leave on ${date}`),
    h("ul", { "aria-labelledby": "daily-leave-title" }, people.map((person) => h("li", {},
      employeeCell(person.userId, person.name),
      h("span", { class: "leave-kind" }, LEAVE_KINDS[person.kind] ?? person.kind),
      h("span", { class: "muted small" }, [person.department, person.schedule].filter(Boolean).join(" · "))))));
}

// ---- the table ----

function totals(rows) {
  if (!rows.length) return "";
  const sum = (name) => rows.reduce((total, row) => total + (row[name] || 0), 0);
  return ` Worked ${duration(sum("workedMinutes"))}, overtime ${duration(sum("overtimeMinutes"))}.`;
}
