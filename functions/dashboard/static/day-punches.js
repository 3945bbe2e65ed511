// The punches behind a work day, opened from its row on an employee's page (the recent days, the
// timesheet): each with its device and delivery status and, for admins, Void. The API groups punches into
// work days as the reports do, so what is listed is what the row counted: a night shift's out of the next
// morning is there, the out of the night before is not.
import { api, formatWallClock, h, loading, showError, table } from "./core.js";
import { deliveryCell } from "./void-punch.js";

let panels = 0; // each panel's element id is its own

const words = (value) => String(value ?? "–").replaceAll("_", " ");
const deviceLink = (deviceId) => h("a", { href: `#/devices/${encodeURIComponent(deviceId)}` }, deviceId);

/**
 * A work-day table's Punches column as a button that opens the day's punches in `panel`, put after the
 * table. `names`: a Names that knows the employee, for the Void confirmation. `holds(logId)`: whether the
 * open day lists that punch; `update(punch)`: a feed punch's new delivery status; `reload()`: read the
 * open day again (a punch was added or voided).
 */
export function dayPunches(userId, names) {
  const panel = h("div", { id: `day-punches-${++panels}`, class: "day-punches card", hidden: true });
  let open = null; // the work day shown
  let punches = [];
  let asked = 0;

  function draw() {
    const close = h("button", { type: "button", class: "secondary small", onclick: () => toggle(open) }, "Close");
    panel.replaceChildren(
      h("div", { class: "day-punches-head" }, h("h3", {}, `Punches of the work day ${open}`), close),
      table({
        caption: `The punches of ${userId} that make up ${open}, in time order`,
        columns: COLUMNS(names, (punch) => { punch.syncStatus = "voiding"; draw(); }),
        rows: punches,
        key: (p) => p.logId,
        empty: "No punches count for this day any more.",
      }));
  }

  async function reload() {
    if (!open) return;
    const ticket = ++asked;
    try {
      const reply = await api("/reports/workday-punches", { query: { userId, date: open } });
      if (ticket !== asked || reply.date !== open) return;
      punches = reply.punches;
      draw();
    } catch (error) {
      if (ticket === asked) showError(panel, error);
    }
  }

  function toggle(date) {
    open = open === date ? null : date;
    panel.hidden = !open;
    for (const button of document.querySelectorAll(`[aria-controls="${panel.id}"]`)) {
      button.setAttribute("aria-expanded", String(button.dataset.date === open));
    }
    if (!open) {
      document.querySelector(`[aria-controls="${panel.id}"][data-date="${date}"]`)?.focus();
      return;
    }
    punches = [];
    loading(panel, `the punches of ${date}`);
    reload();
    panel.scrollIntoView({ block: "nearest" });
  }

  const column = {
    label: "Punches",
    cell: (row) => h("button", {
      type: "button", class: "secondary small day-punches-toggle", dataset: { date: row.date },
      "aria-controls": panel.id, "aria-expanded": String(row.date === open), onclick: () => toggle(row.date),
      "aria-label": `The ${row.punches} punch${row.punches === 1 ? "" : "es"} of ${row.date}`,
    }, String(row.punches)),
  };

  return {
    panel,
    column,
    reload,
    holds: (logId) => punches.some((p) => p.logId === logId),
    update(punch) {
      const known = punches.find((p) => p.logId === punch.logId);
      if (!known) return;
      Object.assign(known, { syncStatus: punch.syncStatus, attempts: punch.attempts, lastError: punch.lastError ?? known.lastError });
      draw();
    },
  };
}

const COLUMNS = (names, voiding) => [
  { label: "Time", cell: (p) => h("time", { datetime: p.punchTime }, formatWallClock(p.localTime)) },
  { label: "Type", cell: (p) => words(p.type) },
  { label: "Device", cell: (p) => deviceLink(p.deviceId) },
  { label: "Delivery", cell: (p) => deliveryCell(p, names, voiding) },
  { label: "Last error", cell: (p) => p.lastError || "–" },
];
