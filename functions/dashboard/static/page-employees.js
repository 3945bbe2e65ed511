// The employees page: the directory with each one's status today (and, for admins, a way to add someone),
// and one employee's page with their recent days, their leave, a timesheet for a chosen range and, for
// admins, a form to add a punch the clock missed and one to add them or change name, department and schedule.
// Routes: #/employees, #/employees/<userId>.
import {
  ApiFailure, addDays, api, badge, clearFieldErrors, feed, formatInstant, h, hasLeft, loading, notify, readWhileListening, session, showError,
  showFieldErrors, table, today, useStyles, zone,
} from "./core.js";
import { dayPunches, withPunchesColumn } from "./day-punches.js";
import { defaultScheduleSection } from "./default-schedule.js";
import { importSection } from "./employee-import.js";
import { leaveSection } from "./employee-leave.js";
import { lackingPunches, missedPunchSection } from "./missed-punch.js";
import { NO_WORK_DAY, sameSchedule, scheduleInputs } from "./schedule-fields.js";
import { duration, workDayColumns } from "./workdays.js";

const RECENT_DAYS = 7;

export async function render(view, params = []) {
  useStyles("page-employees.css");
  return params[0] ? renderEmployee(view, params[0]) : renderList(view);
}

const employeePath = (userId) => `/employees/${encodeURIComponent(userId)}`;
const employeeLink = (userId) => h("a", { href: `#/employees/${encodeURIComponent(userId)}` }, userId);
const deviceLink = (deviceId) => h("a", { href: `#/devices/${encodeURIComponent(deviceId)}` }, deviceId);
const words = (value) => String(value ?? "–").replaceAll("_", " ");
// The API's userId rule, as an HTML pattern (v-flag syntax: / and - escaped in the class).
const USER_ID_PATTERN = "[A-Za-z0-9._:@\\/+\\-]+";
let addingUserId = null; // set by the directory's "Add an employee", read by the employee page it opens

/** Monday of the week `date` is in. */
function mondayOf(date) {
  const weekday = (new Date(`${date}T12:00:00Z`).getUTCDay() + 6) % 7; // Monday 0
  return addDays(date, -weekday);
}

function lastPunch(punch) {
  if (!punch) return "–";
  return h("span", {}, `${formatInstant(punch.time)}, ${words(punch.type)} at `, deviceLink(punch.deviceId));
}

// ---- the directory ----

/** Whether their first working day is still to come: not expected at work, so not absent. */
const notStarted = (employee) => Boolean(employee.startedOn) && employee.startedOn > today();

/** Their status today: "left" rather than absent once they left, "starting" before their first day,
 * "on_leave" on a day of their leave (one who punches anyway is in or out). */
function statusToday(employee) {
  if (employee.status !== "absent") return employee.status;
  if (hasLeft(employee)) return "left";
  if (notStarted(employee)) return "starting";
  if (employee.onLeave) return "on_leave";
  // no punch is an absence only on a day the calendar expects them (their schedule's, not a holiday)
  return employee.expectedToday ? "absent" : "not_expected";
}

/** Today's status, and for someone starting, leaving or gone, their first or last working day. */
function todayCell(employee) {
  const status = statusToday(employee);
  if (status === "starting") {
    return h("span", {}, badge("starting"), " ", h("span", { class: "muted" }, `first day ${employee.startedOn}`));
  }
  if (status === "on_leave") {
    return h("span", {}, badge("on_leave"), " ", h("span", { class: "muted" }, employee.onLeave));
  }
  if (status === "not_expected") {
    const why = employee.schedule ? "day off or holiday" : "no schedule";
    return h("span", {}, badge("not_expected"), " ", h("span", { class: "muted" }, why));
  }
  if (!employee.leftOn) return badge(employee.status);
  const said = status === "left" ? "" : `${hasLeft(employee) ? "left" : "leaving"}: `; // the badge says "left"
  return h("span", {}, badge(status), " ", h("span", { class: "muted" }, `${said}last day ${employee.leftOn}`));
}

const LIST_COLUMNS = [
  { label: "Employee", cell: (e) => employeeLink(e.userId) },
  { label: "Name", cell: (e) => e.name },
  { label: "Department", cell: (e) => e.department || "–" },
  { label: "Today", cell: todayCell },
  { label: "Last punch today", cell: (e) => lastPunch(e.lastPunch) },
  { label: "Schedule", cell: scheduleCell },
];

function scheduleText(schedule) {
  if (!schedule) return "none";
  const label = schedule.days.length ? schedule.label : `no work days, ${schedule.label}`;
  return schedule.isDefault ? `${label} (default)` : label;
}

/** A change already saved for a later day (their own schedule's or the default's): what holds from when. */
function aheadText(ahead) {
  return `from ${ahead.effectiveFrom}: ${scheduleText(ahead.schedule)}`;
}

/** The schedule the reports use now, and beneath it the change saved for later, if any: a schedule set "from
 * today" in a zone far east holds from its first work day there, which may not have begun here. */
function scheduleCell(employee) {
  const now = scheduleText(employee.schedule);
  if (!employee.nextSchedule) return now;
  return h("span", {}, now, h("br"), h("small", { class: "muted schedule-ahead" }, aheadText(employee.nextSchedule)));
}

function scheduleFacts(employee) {
  const { schedule, nextSchedule } = employee;
  const since = schedule?.effectiveFrom ? `, since ${schedule.effectiveFrom}` : "";
  const rows = [["Schedule", scheduleText(schedule) + since]];
  if (nextSchedule) rows.push(["Next schedule", aheadText(nextSchedule)]);
  return rows;
}

async function renderList(view) {
  const filter = h("input", { id: "employee-filter", type: "search", autocomplete: "off", placeholder: "Name, ID or department" });
  const showLeft = h("input", { id: "employee-show-left", type: "checkbox" });
  const showLeftField = h("span", { class: "check", hidden: true }, showLeft, h("label", { for: "employee-show-left" }, "Show those who have left"));
  const body = h("div", { class: "employee-list" });
  const summary = h("ul", { class: "stats employee-stats", "aria-label": "Employees by status today" });
  view.replaceChildren(
    h("h1", { id: "page-title" }, "Employees"),
    summary,
    ...(session.isAdmin ? [addEmployeeForm(() => employees), importSection(() => readAll())] : []),
    defaultScheduleSection(() => readAll()),
    h("div", { class: "employee-filter" }, h("label", { for: "employee-filter" }, "Filter"), filter, showLeftField),
    body);
  loading(body, "the employees");

  let employees = [];
  let shown = null; // the status today whose tile was chosen: only those are listed
  function draw() {
    const needle = filter.value.trim().toLowerCase();
    const counts = { in: 0, on_break: 0, out: 0, absent: 0, on_leave: 0, not_expected: 0, starting: 0, left: 0 };
    for (const e of employees) counts[statusToday(e)] += 1;
    showLeftField.hidden = !counts.left;
    if (!counts[shown]) shown = null; // no one has that status any more
    // Those who have left (and not punched today) are listed on asking: the list is for who works here.
    const pool = showLeft.checked || shown === "left" ? employees : employees.filter((e) => statusToday(e) !== "left");
    const rows = pool.filter((e) => (!shown || statusToday(e) === shown)
      && (!needle || [e.userId, e.name, e.department || ""].some((v) => v.toLowerCase().includes(needle))));
    const hidden = employees.length - pool.length;
    const leftNote = hidden && !shown ? ` (${hidden} who ${hidden === 1 ? "has" : "have"} left not shown)` : "";
    if (!counts.left) delete counts.left;
    if (!counts.starting) delete counts.starting;
    if (!counts.on_leave) delete counts.on_leave;
    if (!counts.not_expected) delete counts.not_expected;
    summary.replaceChildren(...Object.entries(counts).map(([status, count]) => statusTile(status, count)));
    const chosen = [shown && words(shown), needle && `matching “${filter.value.trim()}”`].filter(Boolean).join(", ");
    body.replaceChildren(table({
      caption: (chosen ? `${rows.length} of ${pool.length} employees: ${chosen}` : `${pool.length} employee${pool.length === 1 ? "" : "s"}, status today`)
        + leftNote,
      columns: LIST_COLUMNS,
      rows,
      key: (e) => e.userId,
      empty: employees.length ? `${chosen ? "No employee matches the filter" : "No one in the directory works here now"}${leftNote}.` : `The directory is empty. ${session.isAdmin ? "Add employees above, or many at once from a CSV file." : "An admin adds employees here."}`,
    }));
  }

  /** A status's count, which lists only those with that status (chosen again: everyone). */
  function statusTile(status, count) {
    const pick = () => {
      shown = shown === status ? null : status;
      draw();
      summary.querySelector(`.stat-${status.replaceAll("_", "-")} button`)?.focus(); // the tile was drawn anew
    };
    return h("li", { class: `stat-${status.replaceAll("_", "-")}` },
      h("button", { type: "button", class: "stat-filter", "aria-pressed": String(shown === status), disabled: !count, onclick: pick },
        h("strong", {}, String(count)), words(status)));
  }
  filter.addEventListener("input", draw);
  showLeft.addEventListener("change", draw);

  // A punch changes its employee's status: read that employee again (the API decides the status).
  const due = new Set();
  let timer = null;
  const reading = readWhileListening(); // a punch told while the directory is read: its employee read after it
  const stop = feed.listen((message) => {
    reading.note(message);
    heard(message);
  });

  function heard(message) {
    if (message.type !== "punch.accepted" || !employees.some((e) => e.userId === message.punch.userId)) return;
    due.add(message.punch.userId);
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const users = [...due];
      due.clear();
      for (const userId of users) {
        try {
          const fresh = await api(employeePath(userId));
          employees = employees.map((e) => (e.userId === userId ? fresh : e));
        } catch { /* the next read shows it */ }
      }
      draw();
      for (const userId of users) body.querySelector(`tr[data-key="${CSS.escape(userId)}"]`)?.classList.add("fresh");
    }, 500);
  }

  async function readAll() {
    try {
      const read = await reading.read(() => api("/employees"));
      if (!read) return;
      employees = read.reply.employees;
      draw();
      for (const message of read.heard) heard(message);
    } catch (error) {
      showError(body, error);
    }
  }
  await readAll();
  return () => { clearTimeout(timer); stop(); };
}

/** The admins' way in to adding someone: their ID opens their page, with the form to add them (or, when
 * they are in the directory already, their page as it is, said so). */
function addEmployeeForm(known) {
  const userId = h("input", {
    id: "new-employee-id", name: "userId", required: true, maxlength: 64, pattern: USER_ID_PATTERN, autocomplete: "off",
    title: "Letters, digits and . _ : @ / + - (no spaces)",
  });
  function open(event) {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const id = userId.value.trim();
    const found = known().find((e) => e.userId === id);
    if (found) notify(`${id} is already in the directory: ${found.name}.`);
    else addingUserId = id;
    location.hash = `#/employees/${encodeURIComponent(id)}`;
  }
  const form = h("form", { class: "add-employee", "aria-labelledby": "add-employee-title", onsubmit: open },
    h("h2", { id: "add-employee-title" }, "Add an employee"),
    h("label", { for: "new-employee-id" }, "Employee ID ", h("span", { class: "muted" }, "(the user ID the clocks know them by)")),
    h("div", { class: "add-row" }, userId, h("button", { type: "submit" }, "Add")));
  return form;
}

// ---- one employee ----

// The recent days show what the day was; the timesheet below has every figure.
const RECENT_COLUMNS = ["Date", "First in", "Last out", "Worked", "Punches", "Anomalies"];

function zonesOf(rows) {
  const zones = [...new Set(rows.map((r) => r.timeZone))];
  return zones.length ? `times in ${zones.join(", ")}` : `times in ${zone}`;
}

function facts(employee) {
  const rows = [
    ["Employee ID", employee.userId],
    ["Name", employee.name],
    ["Department", employee.department || "–"],
    ["First working day", employee.startedOn || "–"],
    ["Vacation a year", employee.vacationDaysPerYear === null ? "–" : `${employee.vacationDaysPerYear} days`],
    ["Today", todayCell(employee)],
    ["Last punch today", lastPunch(employee.lastPunch)],
    ...scheduleFacts(employee),
  ];
  return h("dl", { class: "facts" }, rows.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))));
}

async function renderEmployee(view, userId) {
  const title = h("h1", { id: "page-title" }, `Employee ${userId}`);
  const about = h("div", { class: "card employee-facts", "aria-live": "polite" });
  view.replaceChildren(h("p", { class: "back" }, h("a", { href: "#/employees" }, "← All employees")), title, about);
  loading(about, "the employee");

  // Listening from the start: a punch while the employee is read is read again after it.
  let punchedWhileReading = false;
  let punched = () => { punchedWhileReading = true; }; // refresh() once the page is drawn
  const stop = feed.listen((message) => {
    if (message.type === "punch.accepted" && message.punch.userId === userId) punched();
  });
  let employee = null; // null: an ID that punches but is not in the directory
  try {
    employee = await api(employeePath(userId));
  } catch (error) {
    if (!(error instanceof ApiFailure && error.status === 404)) {
      stop();
      showError(about, error);
      return undefined;
    }
  }
  function show(current) {
    employee = current;
    title.textContent = `${employee.name} (${userId})`;
    about.replaceChildren(facts(employee));
  }
  if (employee) show(employee);
  else about.replaceChildren(notInDirectory(userId));

  const recent = h("div", { class: "employee-recent" });
  // A punch added or voided changes the days' figures, and the punches of the day open.
  function daysChanged() {
    loadRecent();
    sheet.run();
  }
  const recentDay = dayPunches(() => refresh());
  const sheet = timesheetSection(userId, () => refresh());
  const missed = missedPunchSection(userId, employee?.lastPunch?.deviceId, daysChanged);
  // A leave recorded for today changes today's status: the facts are read again.
  async function leaveChanged() {
    try {
      show(await api(employeePath(userId)));
    } catch {
      // the facts stay as they were; the leave section has said what went wrong, if anything did
    }
  }
  let leave = employee ? leaveSection(userId, leaveChanged) : null; // leave is recorded for the directory's employees
  // For admins, a day that lacks a punch offers to add it.
  const fixColumn = missed && {
    label: "Add",
    cell: (row) => lackingPunches(row).map((kind) => h("button", {
      type: "button", class: "secondary", onclick: () => missed.prefill(row.date, kind),
      "aria-label": `Add the missing ${words(kind)} of ${row.date}`,
    }, `Add ${words(kind)}`)),
  };
  view.append(...[
    h("section", { "aria-labelledby": "recent-title" },
      h("h2", { id: "recent-title" }, "Recent punches"),
      h("p", { class: "muted" }, `The last ${RECENT_DAYS} days, newest first; a new punch updates them. A day's punch count opens its punches.`),
      recent, recentDay.panel),
    leave?.section,
    missed?.section,
    sheet.section,
    editSection(employee ?? { userId, name: "", department: null, schedule: null }, saved)].filter(Boolean));

  // A saved schedule changes the figures: the days and the timesheet are computed again, and the scheduled
  // days of their leave and what is left of their allowance. Someone just added to the directory gets the
  // form for changes from now on, and their leave.
  function saved(changed) {
    const added = !employee;
    show(changed);
    if (added) {
      view.querySelector("section.edit-section")?.replaceWith(editSection(changed, saved));
      leave = leaveSection(userId, leaveChanged);
      recent.closest("section").after(leave.section);
    }
    leave.load();
    daysChanged();
  }

  if (addingUserId === userId && !employee) view.querySelector("#edit-name")?.focus(); // from "Add an employee"
  addingUserId = null;

  let gone = false;
  let asked = 0; // the latest loadRecent(): an older read that ends later is dropped
  async function loadRecent() {
    const to = today();
    const ticket = ++asked;
    try {
      const reply = await api("/reports/timesheet", { query: { userId, from: addDays(to, -(RECENT_DAYS - 1)), to } });
      if (gone || ticket !== asked) return;
      const rows = reply.rows.filter((r) => r.punches > 0).reverse();
      recentDay.reload(rows);
      recent.replaceChildren(table({
        caption: `Punches of ${userId} by day, ${zonesOf(reply.rows)}`,
        columns: [
          ...withPunchesColumn(workDayColumns(rows, { date: true, only: RECENT_COLUMNS }), recentDay),
          ...(fixColumn && rows.some((r) => lackingPunches(r).length) ? [fixColumn] : []),
        ],
        rows,
        key: (r) => r.date,
        empty: `No punches in the last ${RECENT_DAYS} days.`,
      }));
    } catch (error) {
      if (!gone && ticket === asked) showError(recent, error);
    }
  }
  loading(recent, "the recent punches");
  loadRecent();
  leave?.load();
  sheet.run();

  // Their status and days read again, a moment after the punch that changed them (one read for several).
  let timer = null;
  function refresh() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (employee) {
        try { show(await api(employeePath(userId))); } catch { /* shown at the next read */ }
      }
      daysChanged();
    }, 500);
  }
  punched = refresh;
  if (punchedWhileReading) refresh();
  return () => { gone = true; clearTimeout(timer); stop(); recentDay.stop(); sheet.day.stop(); };
}

/** The timesheet over a chosen range; `changed()` runs when a punch of a day opened in it was voided. */
function timesheetSection(userId, changed) {
  const day = dayPunches(changed);
  const end = today();
  const from = h("input", { id: "sheet-from", name: "from", type: "date", required: true, value: mondayOf(end) });
  const to = h("input", { id: "sheet-to", name: "to", type: "date", required: true, value: addDays(mondayOf(end), 6) });
  const result = h("div", { class: "sheet-result", "aria-live": "polite" });
  let asked = 0;

  async function run() {
    if (!form.reportValidity()) return;
    const ticket = ++asked;
    loading(result, "the timesheet");
    try {
      const reply = await api("/reports/timesheet", { query: { userId, from: from.value, to: to.value } });
      if (ticket !== asked) return;
      day.reload(reply.rows);
      const total = (name) => reply.rows.reduce((sum, r) => sum + r[name], 0);
      result.replaceChildren(
        h("p", { class: "sheet-totals" },
          reply.rows.length ? `${reply.rows.length} day${reply.rows.length === 1 ? "" : "s"}; worked ${duration(total("workedMinutes"))}, ` : null,
          reply.rows.length ? `overtime ${duration(total("overtimeMinutes"))}, late ${duration(total("lateMinutes"))}. ` : null,
          h("a", { href: `#/reports/timesheet/${encodeURIComponent(userId)}/${reply.from}/${reply.to}` }, "Open this timesheet in Reports (CSV download there)")),
        table({
          caption: `Timesheet of ${userId}, ${reply.from} to ${reply.to}, ${zonesOf(reply.rows)}`,
          columns: withPunchesColumn(workDayColumns(reply.rows, { date: true }), day),
          rows: reply.rows,
          key: (r) => r.date,
          empty: `No punches from ${reply.from} to ${reply.to}.`,
        }));
    } catch (error) {
      if (ticket === asked) showError(result, error);
    }
  }

  const form = h("form", { class: "inline sheet-form", onsubmit: (event) => { event.preventDefault(); run(); } },
    h("div", {}, h("label", { for: "sheet-from" }, "From"), from),
    h("div", {}, h("label", { for: "sheet-to" }, "To"), to),
    h("button", { type: "submit" }, "Show timesheet"));
  const section = h("section", { "aria-labelledby": "sheet-title" },
    h("h2", { id: "sheet-title" }, "Timesheet"),
    h("p", { class: "muted" }, "Up to 31 days; the default is the current week."),
    form, result, day.panel);
  return { section, run, day };
}

// ---- editing (admins) ----

function notInDirectory(userId) {
  return h("div", { class: "not-in-directory" },
    h("p", {}, h("strong", {}, `${userId} is not in the directory.`),
      " Their punches are stored, delivered and reported all the same, under this ID."),
    h("p", { class: "muted" }, session.isAdmin
      ? "Add them below to give them a name, a department and a schedule."
      : "An admin can add them to the directory, with a name, a department and a schedule."));
}

/** Their own schedule removed from a day on: the employee as they are now, or null when someone removed it
 * already. */
async function removeOwnSchedule(userId, from) {
  try {
    return await api(`${employeePath(userId)}/schedule?effectiveFrom=${encodeURIComponent(from)}`, { method: "DELETE" });
  } catch (error) {
    if (error.error === "no_own_schedule") return null;
    throw error;
  }
}

/** The directory's fields as the form's inputs say them, by the API's names. */
function typedEntry({ name, department, startedOn, leftOn, vacationDaysPerYear }) {
  return {
    name: name.value.trim(), department: department.value.trim() || null, startedOn: startedOn.value || null,
    leftOn: leftOn.value || null, vacationDaysPerYear: vacationDaysPerYear.value === "" ? null : Number(vacationDaysPerYear.value),
  };
}

/** The employee as the directory has them now; null when it no longer has them (the form's fields are sent). */
async function stored(userId) {
  try {
    return await api(employeePath(userId));
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 404) return null;
    throw error;
  }
}

/** An employee's own schedules, comparable: the one that holds and the change saved for later. Following the
 * company's default counts as one, whatever the default is: it is changed apart from them. */
function ownSchedules(employee) {
  const own = (schedule) => (schedule && !schedule.isDefault
    ? [schedule.days, schedule.start, schedule.end, schedule.graceMinutes, schedule.timeZone, schedule.effectiveFrom]
    : null);
  const ahead = employee.nextSchedule;
  return JSON.stringify([own(employee.schedule), ahead ? [ahead.effectiveFrom, own(ahead.schedule)] : null]);
}

/** What another admin's schedule change left, in words. */
function schedulesText(employee) {
  const since = employee.schedule?.effectiveFrom ? ` since ${employee.schedule.effectiveFrom}` : "";
  const ahead = employee.nextSchedule ? `, and ${aheadText(employee.nextSchedule)}` : "";
  return `${scheduleText(employee.schedule)}${since}${ahead}`;
}

/** The form's inputs show the employee as saved. */
function showEntry(entry, employee) {
  for (const [field, input] of Object.entries(entry)) input.value = employee[field] ?? "";
}

/** The admins' form: changes to an employee, or adding one (no name yet) to the directory. */
function editSection(employee, saved) {
  if (!session.isAdmin) return null; // the API refuses anyway; read keys see no controls
  const adding = !employee.name;
  const schedule = employee.schedule;
  const name = h("input", { id: "edit-name", name: "name", required: true, maxlength: 128, value: employee.name, autocomplete: "off" });
  const department = h("input", { id: "edit-department", name: "department", maxlength: 128, value: employee.department || "", autocomplete: "off" });
  const startedOn = h("input", { id: "edit-started-on", name: "startedOn", type: "date", value: employee.startedOn || "" });
  const leftOn = h("input", { id: "edit-left-on", name: "leftOn", type: "date", value: employee.leftOn || "" });
  const vacationDays = h("input", {
    id: "edit-vacation-days", name: "vacationDaysPerYear", type: "number", min: 0, max: 366, step: 1,
    value: employee.vacationDaysPerYear ?? "",
  });
  // The directory's fields the form shows, by the API's names. Those the admin edits are sent as typed; the
  // others as the directory has them when saved, so that another admin's change since the page opened stays.
  const entry = { name, department, startedOn, leftOn, vacationDaysPerYear: vacationDays };
  const edited = new Set();
  for (const [field, input] of Object.entries(entry)) input.addEventListener("input", () => edited.add(field));
  let followed = schedule; // the schedule the reports use for them, their own or the default; null: none
  // Their schedules as the form showed them: a schedule sent replaces another admin's change since, from its
  // day on, so a save that changes the schedule first checks that nobody else did.
  let shown = ownSchedules(employee);
  const hasOwn = () => Boolean(followed && !followed.isDefault);
  const own = h("input", { id: "edit-own-schedule", type: "checkbox", checked: hasOwn() });
  const ownLabel = h("label", { for: "edit-own-schedule" });
  function labelOwn() {
    // Without a schedule of their own they follow the company's default, when there is one.
    const noDefault = !adding && !followed;
    ownLabel.textContent = adding
      ? "Give them their own schedule (unticked: the company's default schedule, if it has one)"
      : hasOwn()
        ? "Give them their own schedule (untick to put them on the company's default schedule, if it has one)"
        : noDefault
          ? "Give them their own schedule (unticked: they stay without one; the company has no default)"
          : "Give them their own schedule (unticked: they stay on the company's default schedule)";
  }
  labelOwn();
  // A change (or going back to the default) takes effect from the day under "Applies from".
  const scheduled = scheduleInputs("edit", schedule);
  const scheduleFields = scheduled.fieldset;
  const scheduleFrom = scheduled.from;
  const result = h("div", { class: "edit-result", "aria-live": "polite" });
  const button = h("button", { type: "submit" }, adding ? "Add to the directory" : "Save changes");

  // The API's names for the form's fields, for the problems it names.
  const fields = {
    ...entry, ...Object.fromEntries(Object.entries(scheduled.inputs).map(([field, input]) => [`schedule.${field}`, input])),
    "schedule.effectiveFrom": scheduleFrom, effectiveFrom: scheduleFrom,
  };

  function toggle() { scheduleFields.disabled = !own.checked; }
  own.addEventListener("change", toggle);
  toggle();

  async function submit(event) {
    event.preventDefault();
    scheduled.refreshFrom(); // a page left open overnight offers today, not the day it opened
    if (!form.reportValidity()) return;
    const body = typedEntry(entry);
    if (own.checked) {
      const asked = scheduled.asked();
      if (!asked) {
        result.replaceChildren(h("p", { class: "error", role: "alert" }, NO_WORK_DAY));
        return;
      }
      // Their own schedule as it holds, its day not chosen: left out, as unchanged. Sent, it would apply from
      // today on and so undo a change already saved for a later day.
      const kept = hasOwn() && sameSchedule(asked, followed) && !scheduled.fromPicked();
      if (!kept) body.schedule = { ...asked, effectiveFrom: scheduleFrom.value };
    }
    const toDefault = hasOwn() && !own.checked;
    button.disabled = true;
    result.replaceChildren();
    clearFieldErrors(fields);
    try {
      const now = adding ? null : await stored(employee.userId);
      const theirs = now && ownSchedules(now);
      if (now && (body.schedule || toDefault) && theirs !== shown) {
        shown = theirs; // said once: saved again, the admin's schedule replaces it
        followed = now.schedule;
        labelOwn();
        saved(now);
        result.replaceChildren(h("p", { class: "error", role: "alert" },
          `Not saved: another admin changed the schedule of ${now.name} since this page showed it. It is now ${schedulesText(now)}. Save again to put yours in its place.`));
        return;
      }
      for (const field of Object.keys(entry)) if (now && !edited.has(field)) body[field] = now[field];
      let changed = await api(employeePath(employee.userId), { method: "PUT", body });
      showEntry(entry, changed);
      edited.clear();
      if (toDefault) changed = await removeOwnSchedule(employee.userId, scheduleFrom.value) ?? changed;
      saved(changed);
      shown = ownSchedules(changed);
      followed = changed.schedule;
      labelOwn();
      result.replaceChildren(h("p", { class: "ok" }, "Saved."));
      const onDefault = toDefault ? `, on ${changed.schedule ? "the default schedule" : "no schedule (there is no default)"}` : "";
      notify(adding ? `${changed.name} added to the directory.` : `${changed.name} saved${onDefault}.`);
    } catch (error) {
      // The rules the schema cannot state (the zone must exist, the last day not before the first) come back
      // without details.
      const unstated = { invalid_time_zone: "schedule.timeZone", invalid_dates: "leftOn" };
      showFieldErrors(result, fields, error, (failure) => unstated[failure.error] ?? null);
    } finally {
      button.disabled = false;
    }
  }

  const form = h("form", { class: "card edit-form", "aria-labelledby": "edit-title", onsubmit: submit },
    h("div", { class: "field" }, h("label", { for: "edit-name" }, "Name"), name),
    h("div", { class: "field" }, h("label", { for: "edit-department" }, "Department"), department),
    h("div", { class: "field" },
      h("label", { for: "edit-started-on" }, "First working day ", h("span", { class: "muted" }, "(before it, not counted absent)")),
      startedOn),
    h("div", { class: "field" },
      h("label", { for: "edit-left-on" }, "Last working day ", h("span", { class: "muted" }, "(empty while they work here; after it, not counted absent)")),
      leftOn),
    h("div", { class: "field" },
      h("label", { for: "edit-vacation-days" }, "Vacation days a year ", h("span", { class: "muted" }, "(scheduled days; empty: none recorded)")),
      vacationDays),
    h("div", { class: "field check" }, own, ownLabel),
    scheduleFields,
    scheduled.fromField,
    h("div", { class: "actions" }, button),
    result);
  return h("section", { class: "admin-only edit-section", "aria-labelledby": "edit-title" },
    h("h2", { id: "edit-title" }, adding ? "Add to the directory" : "Edit employee"), form);
}
