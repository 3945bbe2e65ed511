// An employee's leave on their page: the year's leaves (GET /employees/{userId}/leave), and for an admin a
// form to record one (PUT /employees/{userId}/leave/{from}: the same first day changes it) and a Remove on
// each (DELETE). A pay period counts the scheduled days on leave by kind, and none of them as absent.
import {
  ApiFailure, api, apiWithStatus, badge, clearFieldErrors, confirmAction, h, notify, session, showError, showFieldErrors,
  table, today,
} from "./core.js";
import { count } from "./report-parts.js";

/** The kinds, as the API names them and as a sentence says them ("on sick leave"). */
export const LEAVE_KINDS = { vacation: "vacation", sick: "sick leave", unpaid: "unpaid leave", other: "other leave" };
const KIND_OPTIONS = [["vacation", "Vacation"], ["sick", "Sick leave"], ["unpaid", "Unpaid leave"], ["other", "Other leave"]];

const DAY_MS = 86_400_000;
const dayNumber = (date) => Date.parse(`${date}T00:00:00Z`) / DAY_MS;

/** The calendar days from `from` to `to`, both included. */
export function calendarDays(from, to) {
  return dayNumber(to) - dayNumber(from) + 1;
}

/** "vacation from 2025-07-28 to 2025-08-08 (12 days)", or "sick leave on 2025-12-03 (1 day)". */
function said(leave) {
  const when = leave.from === leave.to ? `on ${leave.from}` : `from ${leave.from} to ${leave.to}`;
  return `${LEAVE_KINDS[leave.kind] ?? leave.kind} ${when} (${count(calendarDays(leave.from, leave.to), "day")})`;
}

/** The year's leave in the scheduled days it takes (the API's count: the schedule's weekdays, less holidays),
 * by kind: "12 scheduled days in the year (11 vacation, 1 sick)"; without a schedule, nothing to count. */
function yearTotals(list) {
  if (!list.scheduledDays) return "no schedule, so no scheduled days to count";
  const kinds = Object.entries(list.scheduledDays).filter(([, days]) => days);
  const total = kinds.reduce((sum, [, days]) => sum + days, 0);
  const byKind = kinds.length ? ` (${kinds.map(([kind, days]) => `${days} ${kind}`).join(", ")})` : "";
  return `${count(total, "scheduled day")} in the year${byKind}`;
}

/** "Vacation allowance: 15 of 25 days left in 2026." (over it: "5 days over"), or "" without an allowance
 * or a schedule to count it by. */
function allowanceLeft(list) {
  if (list.vacationDaysLeft === null) return "";
  const left = list.vacationDaysLeft >= 0 ? `${list.vacationDaysLeft} of ${list.vacationDaysPerYear} days left` : `${count(-list.vacationDaysLeft, "day")} over the ${list.vacationDaysPerYear}`;
  return `Vacation allowance: ${left} in ${list.year}.`;
}

/** The section, for someone in the directory; `load()` reads the year shown (this year at first).
 * `changed` is told of every leave recorded, changed or removed (today's status may follow it). */
export function leaveSection(userId, changed = () => {}) {
  const path = `/employees/${encodeURIComponent(userId)}/leave`;
  const year = h("input", {
    id: "leave-year", name: "year", type: "number", min: "2000", max: "2100", required: true, value: today().slice(0, 4),
  });
  const status = h("p", { class: "leave-status", role: "status" });
  const listing = h("div", { class: "leave-list" });
  let leaves = []; // the year shown's
  let asked = 0;

  async function load() {
    if (!yearForm.reportValidity()) return;
    const shown = Number(year.value);
    const ticket = ++asked;
    status.textContent = `Loading the leave of ${shown}…`;
    status.classList.add("loading");
    try {
      const list = await api(path, { query: { year: shown } });
      if (ticket !== asked) return; // a newer request is on its way
      leaves = list.leave;
      status.classList.remove("loading");
      status.textContent = [
        list.count ? `${count(list.count, "leave")} in ${list.year}: ${yearTotals(list)}.` : "",
        allowanceLeft(list),
      ].filter(Boolean).join(" ");
      listing.replaceChildren(table({
        caption: `Leave of ${userId} in ${list.year}`,
        columns: columns(),
        rows: leaves,
        key: (leave) => leave.from,
        empty: `No leave recorded in ${list.year}.${session.isAdmin ? " Record it below." : ""}`,
      }));
      form?.sync();
    } catch (error) {
      if (ticket !== asked) return;
      status.classList.remove("loading");
      status.textContent = "";
      showError(listing, error);
    }
  }

  function columns() {
    const shown = [
      { label: "From", cell: (leave) => leave.from },
      { label: "To", cell: (leave) => leave.to },
      { label: "Days", cell: (leave) => String(calendarDays(leave.from, leave.to)) },
      { label: "Scheduled days", cell: (leave) => (leave.scheduledDays === null ? "–" : String(leave.scheduledDays)) },
      {
        label: "Kind",
        cell: (leave) => {
          const now = leave.from <= today() && today() <= leave.to;
          return h("span", {}, badge(leave.kind), now ? [" ", h("span", { class: "muted small" }, "now")] : null);
        },
      },
      { label: "Note", cell: (leave) => leave.note || "–" },
    ];
    if (!session.isAdmin) return shown;
    return [...shown, {
      label: "Actions",
      cell: (leave) => h("span", { class: "leave-actions" },
        h("button", {
          type: "button", class: "secondary small-button", "aria-label": `Change the ${LEAVE_KINDS[leave.kind]} from ${leave.from}`,
          onclick: () => form.prefill(leave),
        }, "Change"),
        h("button", {
          type: "button", class: "secondary small-button", "aria-label": `Remove the ${LEAVE_KINDS[leave.kind]} from ${leave.from}`,
          onclick: () => remove(leave),
        }, "Remove")),
    }];
  }

  async function remove(leave) {
    const question = `Remove ${userId}'s ${said(leave)}? Its scheduled days count again, as work or as absence.`;
    if (!(await confirmAction(question, "Remove leave"))) return;
    try {
      await api(`${path}/${leave.from}`, { method: "DELETE" });
      notify(`Removed ${userId}'s ${said(leave)}.`);
    } catch (error) {
      notify(error.message, "error");
    }
    load();
    changed();
  }

  /** A change: the year it starts in shown. */
  function after(leave) {
    year.value = leave.from.slice(0, 4);
    load();
    changed();
  }

  const yearForm = h("form", { class: "inline leave-year", onsubmit: (event) => { event.preventDefault(); load(); } },
    h("div", {}, h("label", { for: "leave-year" }, "Year"), year),
    h("button", { type: "submit", class: "secondary" }, "Show leave"));
  const form = session.isAdmin ? leaveForm(userId, path, () => leaves, after) : null;

  const section = h("section", { class: "leave-section", "aria-labelledby": "leave-title" },
    h("h2", { id: "leave-title" }, "Leave"),
    h("p", { class: "muted" },
      "Vacation, sick days and other leave. Scheduled days: those of it the schedule expected them, less the " +
      "company's holidays, which is what an allowance counts. The scheduled days on leave are no absence: " +
      "the pay period counts them by kind."),
    yearForm, status, listing, form?.node);
  return { section, load };
}

/** An admin's form: first and last day, kind and an optional note. A first day that starts a leave already
 * changes that leave; `listed()` the year shown's leaves, to say so on the button. */
function leaveForm(userId, path, listed, saved) {
  const years = { min: "2000-01-01", max: "2100-12-31" }; // the years a list of leave shows
  const from = h("input", { id: "leave-from", name: "from", type: "date", required: true, ...years });
  const to = h("input", { id: "leave-to", name: "to", type: "date", required: true, ...years });
  const kind = h("select", { id: "leave-kind", name: "kind", required: true },
    KIND_OPTIONS.map(([value, label]) => h("option", { value }, label)));
  const note = h("input", { id: "leave-note", name: "note", type: "text", maxlength: 200, autocomplete: "off", placeholder: "Optional" });
  const button = h("button", { type: "submit" }, "Record leave");
  const result = h("div", { class: "leave-result", "aria-live": "polite" });
  const fields = { from, to, kind, note }; // the API's names: the path's from, the body's to, kind and note

  /** The button says whether saving records a leave or changes the one starting on that day. */
  function sync() {
    button.textContent = listed().some((leave) => leave.from === from.value) ? "Change leave" : "Record leave";
  }
  from.addEventListener("input", () => {
    // The first day of a recorded leave changes that leave: the form shows it, so that only what the admin
    // changes changes (left as it was, its last day, kind and note would be replaced by the form's).
    const recorded = listed().find((leave) => leave.from === from.value);
    if (recorded) show(recorded);
    else if (from.value && (!to.value || to.value < from.value)) to.value = from.value; // one day, unless told more
    sync();
  });

  /** The refusals whose body names no field: a bad range is the last day's, a malformed first day the path's. */
  function fieldOf(failure) {
    if (failure.error === "invalid_range") return "to";
    return failure.details.some((d) => d.location === "path" && d.field === "from") ? "from" : null;
  }

  async function submit(event) {
    event.preventDefault();
    if (!node.reportValidity()) return;
    const body = { to: to.value, kind: kind.value };
    if (note.value.trim()) body.note = note.value.trim();
    button.disabled = true;
    result.replaceChildren();
    clearFieldErrors(fields);
    try {
      const { status, body: leave } = await apiWithStatus(`${path}/${from.value}`, { method: "PUT", body });
      const done = status === 201 ? "Recorded" : "Changed";
      result.replaceChildren(h("p", { class: "ok" }, `${done}: ${said(leave)}.`));
      notify(`${done} ${userId}'s ${said(leave)}.`);
      from.value = "";
      to.value = "";
      note.value = "";
      saved(leave);
    } catch (error) {
      showFieldErrors(result, fields, error, fieldOf);
      if (error instanceof ApiFailure && error.error === "overlaps") {
        // Another leave shares a day with these: both days are at fault, the message says which leave.
        const alert = result.querySelector("[role=alert]");
        alert.id = "leave-problem";
        for (const input of [from, to]) {
          input.setAttribute("aria-invalid", "true");
          input.setAttribute("aria-describedby", alert.id);
        }
        from.focus();
      }
    } finally {
      button.disabled = false;
      sync();
    }
  }

  function show(leave) {
    from.value = leave.from;
    to.value = leave.to;
    kind.value = leave.kind;
    note.value = leave.note || "";
  }

  function prefill(leave) {
    show(leave);
    result.replaceChildren();
    clearFieldErrors(fields);
    sync();
    node.scrollIntoView({ block: "center" });
    to.focus();
  }

  const node = h("form", { class: "card leave-form", "aria-labelledby": "leave-form-title", onsubmit: submit },
    h("h3", { id: "leave-form-title" }, "Record leave"),
    h("div", { class: "field" }, h("label", { for: "leave-from" }, "First day"), from),
    h("div", { class: "field" }, h("label", { for: "leave-to" }, "Last day"), to),
    h("div", { class: "field" }, h("label", { for: "leave-kind" }, "Kind"), kind),
    h("div", { class: "field leave-note" }, h("label", { for: "leave-note" }, "Note"), note),
    h("div", { class: "actions" }, button),
    h("p", { class: "muted small leave-hint" },
      "Days already on another leave are refused. A first day that starts a recorded leave changes that leave."),
    result);
  return { node, sync, prefill };
}
