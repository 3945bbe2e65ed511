// The punches behind a work day, opened from its row's punch count wherever work days are listed (an
// employee's recent days and timesheet, the Reports page): each with its device and delivery status and, for
// admins, Void. The API groups punches into work days as the reports do, so what is listed is what the row
// counted: a night shift's out of the next morning is there, the out of the night before is not.
import {
  Names, addedByHand, api, feed, formatWallClock, h, lastErrorOf, loading, readWhileListening, showError, table, useStyles,
} from "./core.js";
import { deliveryCell } from "./void-punch.js";
import { byHand } from "./workdays.js";

let panels = 0; // each panel's element id is its own

const words = (value) => String(value ?? "–").replaceAll("_", " ");
const deviceLink = (deviceId) => h("a", { href: `#/devices/${encodeURIComponent(deviceId)}` }, deviceId);

/**
 * For a table of work-day rows (each with userId, name, date and punches): its Punches column, a button
 * that opens the row's punches in `panel` (put it after the table), and `reload(rows)`, for when the
 * table's rows are read again: the day open is read again too, or closed when it is no longer among them.
 * The punches' delivery follows the live feed; once one is voided the panel is read again and `changed()`
 * runs, since the day's figures change with it. `stop()` ends the feed's updates.
 */
export function dayPunches(changed = () => {}) {
  useStyles("day-punches.css");
  const panel = h("div", { id: `day-punches-${++panels}`, class: "day-punches card", hidden: true });
  const names = new Names(); // as the rows name them, for a void's confirmation
  let open = null; // { userId, date } shown
  let punches = [];
  const reading = readWhileListening(); // a delivery told while the day is read is not lost with its reply

  const isOpen = (row) => open?.userId === row.userId && open?.date === row.date;
  const who = ({ userId }) => (names.of(userId) ? `${names.of(userId)} (${userId})` : userId);

  function draw() {
    const close = h("button", { type: "button", class: "secondary small", onclick: () => toggle(open) }, "Close");
    panel.replaceChildren(
      h("div", { class: "day-punches-head" }, h("h3", {}, `Punches of ${who(open)}, work day ${open.date}`), close),
      table({
        caption: `The punches of ${open.userId} that make up ${open.date}, in time order`,
        columns: COLUMNS(names, (punch) => { punch.syncStatus = "voiding"; draw(); }),
        rows: punches,
        key: (p) => p.logId,
        empty: "No punches count for this day any more.",
      }));
  }

  async function reload(rows = null) {
    if (!open) return;
    if (rows && !rows.some(isOpen)) {
      close();
      return;
    }
    const asked = open;
    try {
      const read = await reading.read(() => api("/reports/workday-punches", { query: asked }));
      if (!read || open !== asked) return;
      punches = read.reply.punches;
      draw();
      for (const message of read.heard) told(message);
    } catch (error) {
      if (open === asked) showError(panel, error);
    }
  }

  function buttonOf(row) {
    return panel.ownerDocument.querySelector(
      `[aria-controls="${panel.id}"][data-user-id="${CSS.escape(row.userId)}"][data-date="${row.date}"]`);
  }

  function close() {
    buttonOf(open)?.setAttribute("aria-expanded", "false");
    open = null;
    punches = []; // the feed no longer updates them
    panel.hidden = true;
  }

  function toggle(row) {
    const closing = isOpen(row);
    if (open) close();
    if (closing) {
      buttonOf(row)?.focus();
      return;
    }
    open = { userId: row.userId, date: row.date };
    panel.hidden = false;
    buttonOf(row)?.setAttribute("aria-expanded", "true");
    loading(panel, `the punches of ${row.date}`);
    reload();
    panel.scrollIntoView({ block: "nearest" });
  }

  const column = {
    label: "Punches",
    cell: (row) => {
      names.remember(row.userId, row.name);
      const button = h("button", {
        type: "button", class: "secondary small day-punches-toggle", dataset: { userId: row.userId, date: row.date },
        "aria-controls": panel.id, "aria-expanded": String(isOpen(row)), onclick: () => toggle(row),
        "aria-label": `The ${row.punches} punch${row.punches === 1 ? "" : "es"} of ${row.userId} on ${row.date}`,
      }, String(row.punches));
      return h("span", { class: "day-punches-count" }, button, byHand(row));
    },
  };

  /** A feed message about a punch listed: its delivery in place; a void reads the day again. */
  function told(message) {
    const known = punches.find((p) => p.logId === message.punch?.logId);
    if (!known) return;
    if (message.type === "punch.voided") {
      reload();
      changed();
      return;
    }
    const { syncStatus, attempts } = message.punch;
    Object.assign(known, { syncStatus, attempts, lastError: message.error ?? known.lastError });
    draw();
  }

  const stop = feed.listen((message) => {
    reading.note(message);
    told(message);
  });

  return { panel, column, reload, stop };
}

const COLUMNS = (names, voiding) => [
  { label: "Time", cell: (p) => h("time", { datetime: p.punchTime }, formatWallClock(p.localTime)) },
  { label: "Type", cell: (p) => h("span", { class: "punch-type" }, words(p.type), addedByHand(p)) },
  { label: "Device", cell: (p) => deviceLink(p.deviceId) },
  { label: "Delivery", cell: (p) => deliveryCell(p, names, voiding) },
  { label: "Last error", cell: lastErrorOf },
];

/** Work-day columns with the punch count as the button that opens the day's punches. */
export function withPunchesColumn(columns, day) {
  return columns.map((column) => (column.label === "Punches" ? day.column : column));
}
