// The reports page: the daily report and an employee's timesheet, as tables, each with a download of the
// API's own CSV (format=csv). Routes: #/reports, #/reports/daily/<date>[/<userId>],
// #/reports/timesheet/<userId>[/<from>/<to>] (an employee's page links here).
import { api, apiText, h, notify, saveCsv, showError, table, today, useStyles, zone } from "./core.js";
import { dayPunches, withPunchesColumn } from "./day-punches.js";
import { duration, workDayColumns } from "./workdays.js";

const MAX_DAYS = 31; // the API's limit for a timesheet (it answers 422 beyond it, with the reason)
const USER_PATTERN = "[A-Za-z0-9._:@\\/+\\-]+"; // the API's pattern for an employee ID
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export async function render(view, params = []) {
  useStyles("page-reports.css");
  const [kind, ...rest] = params;
  const daily = dailyPanel();
  const sheet = timesheetPanel();
  view.replaceChildren(
    h("h1", { id: "page-title" }, "Reports"),
    h("p", { class: "muted reports-intro" },
      `Work days computed from the punches, times in ${zone}. Download CSV saves the API's own file (format=csv).`),
    h("div", { class: "reports-panels" }, daily.panel, sheet.panel),
  );

  if (kind === "timesheet" && rest[0]) {
    sheet.fill(rest[0], DATE.test(rest[1] || "") ? rest[1] : undefined, DATE.test(rest[2] || "") ? rest[2] : undefined);
    sheet.run();
    daily.run();
    sheet.panel.scrollIntoView({ block: "start" }); // a link from an employee's page: their timesheet first
  } else {
    if (kind === "daily") daily.fill(DATE.test(rest[0] || "") ? rest[0] : undefined, rest[1]);
    daily.run();
  }

  return () => {
    daily.day.stop();
    sheet.day.stop();
  };
}

// ---- the two forms ----

/** The date `days` after `day` (both YYYY-MM-DD). */
function shiftDay(day, days) {
  const [year, month, date] = day.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, date + days)).toISOString().slice(0, 10);
}

function dailyPanel() {
  const date = h("input", { id: "daily-date", name: "date", type: "date", required: true, value: today() });
  const user = employeeInput("daily-user", false);
  const result = resultArea();
  const day = dayPunches(() => run()); // a punch voided: the report is read again
  let asked = 0;

  async function run() {
    if (!form.reportValidity()) return;
    const query = { date: date.value, userId: user.value.trim() || undefined };
    const ticket = ++asked;
    result.wait("the daily report");
    try {
      const report = await api("/reports/daily", { query });
      if (ticket !== asked) return; // a newer request is on its way
      day.reload(report.rows);
      const who = query.userId ? ` for ${query.userId}` : "";
      result.show(
        `${count(report.rows.length, "employee")} on ${query.date}${who}.`,
        download("/reports/daily", query, `daily-${query.date}.csv`),
        table({
          caption: `Daily report, ${query.date}${who}`,
          columns: withPunchesColumn(workDayColumns(report.rows, { user: true }), day),
          rows: report.rows,
          key: (row) => row.userId,
          empty: query.userId ? `No punches from ${query.userId} on ${query.date}.` : `No punches on ${query.date}.`,
        }),
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
    h("button", { type: "submit" }, "Show report"),
    h("div", { class: "day-steps", role: "group", "aria-label": "Another day" }, step(-1, "Day before"), step(1, "Day after")));

  const panel = h("section", { class: "card report-panel", "aria-labelledby": "daily-title" },
    h("h2", { id: "daily-title" }, "Daily report"),
    h("p", { class: "muted" }, "Everyone who punched on a day, or one employee."),
    form, result.node, day.panel);

  return {
    panel,
    run,
    day,
    fill(workDay, userId) {
      if (workDay) date.value = workDay;
      if (userId) user.value = userId;
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

function field(id, label, input) {
  return h("div", {}, h("label", { for: id }, label), input);
}

/**
 * Where a report appears: a status line (announced to screen readers: loading, then the summary; the
 * table itself is read when a person goes to it), the Download CSV button, and the table or the error.
 */
function resultArea(initial) {
  const status = h("p", { role: "status", class: "report-status" });
  const action = h("div", { class: "report-action" });
  const content = h("div", { class: "report-content" }, initial);
  const node = h("div", { class: "report-result" }, h("div", { class: "report-toolbar" }, status, action), content);
  return {
    node,
    wait(what) {
      status.textContent = `Loading ${what}…`;
      status.classList.add("loading");
      action.replaceChildren();
      content.replaceChildren();
    },
    show(summary, button, body) {
      status.textContent = summary;
      status.classList.remove("loading");
      action.replaceChildren(button);
      content.replaceChildren(body);
    },
    fail(error) {
      status.textContent = "";
      status.classList.remove("loading");
      showError(content, error);
    },
  };
}

// ---- the table ----

function totals(rows) {
  if (!rows.length) return "";
  const sum = (name) => rows.reduce((total, row) => total + (row[name] || 0), 0);
  return ` Worked ${duration(sum("workedMinutes"))}, overtime ${duration(sum("overtimeMinutes"))}.`;
}

function count(n, noun) {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

// ---- CSV download: fetched with the key in the header (never in a URL), saved from a Blob URL ----

function download(path, query, filename) {
  const button = h("button", { type: "button", class: "secondary" }, "Download CSV");
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = "Downloading…";
    try {
      saveCsv(await apiText(path, { query: { ...query, format: "csv" } }), filename);
      notify(`Downloaded ${filename}`);
    } catch (error) {
      notify(error.message || String(error), "error");
    } finally {
      button.disabled = false;
      button.textContent = "Download CSV";
    }
  });
  return button;
}

function safe(name) {
  return name.replace(/[^A-Za-z0-9._@+-]+/g, "_");
}
