// The devices page: every device with its state (live from the feed), and one device's page with its
// recent punches (live; for admins, Void on each), its command history and, for admins, a form to queue a
// command.
// Routes: #/devices, #/devices/<deviceId>.
import {
  ApiFailure, Names, addDays, addedByHand, api, badge, confirmAction, employeeCell, feed, formatInstant, formatWallClock, h, hasLeft, lastErrorOf, loading,
  notify, readWhileListening, session, showError, showNames, table, tableRow, today, useStyles, zone,
} from "./core.js";
import { deliveryCell } from "./void-punch.js";

const PUNCH_LIMIT = 50;
const COMMAND_REFRESH_MS = 10_000; // while a command waits for the clock, its status is read again
const PUNCH_EVENTS = new Set([
  "punch.accepted", "punch.delivered", "punch.failed", "punch.dead_lettered", "punch.abandoned", "punch.voided", "punch.void_refused",
]);
const dayFormat = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });

export async function render(view, params = []) {
  useStyles("page-devices.css");
  return params[0] ? renderDevice(view, params[0]) : renderList(view);
}

const devicePath = (deviceId) => `/devices/${encodeURIComponent(deviceId)}`;
const deviceLink = (deviceId) => h("a", { href: `#/devices/${encodeURIComponent(deviceId)}` }, deviceId);

/** Clock drift as people read it: "+12 s", "−3 min 5 s"; "–" when unknown. */
function drift(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const sign = seconds > 0 ? "+" : seconds < 0 ? "−" : "";
  const size = Math.abs(seconds);
  if (size < 60) return `${sign}${size} s`;
  const minutes = Math.floor(size / 60);
  if (minutes < 60) return `${sign}${minutes} min ${size % 60} s`;
  return `${sign}${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function isToday(iso) {
  return iso ? dayFormat.format(new Date(iso)) === today() : false;
}

// ---- the list ----

const LIST_COLUMNS = [
  { label: "Device", cell: (d) => h("span", { class: "device-name" }, deviceLink(d.deviceId), d.name ? h("span", { class: "muted" }, d.name) : null) },
  { label: "State", cell: (d) => badge(d.state) },
  { label: "Kind", cell: (d) => d.kind },
  { label: "Site", cell: (d) => d.site || "–" },
  { label: "Last seen", cell: (d) => formatInstant(d.lastSeenAt) },
  { label: "Last punch", cell: (d) => formatInstant(d.lastPunchAt) },
  { label: "Punches today", cell: (d) => String(d.punchesToday) },
  { label: "Clock drift", cell: (d) => drift(d.clockDriftSeconds) },
];

async function renderList(view) {
  const summary = h("ul", { class: "stats device-stats", "aria-label": "Devices by state" });
  const body = h("div", { class: "device-list" });
  const announce = h("p", { class: "visually-hidden", role: "status", "aria-live": "polite" });
  view.replaceChildren(
    h("h1", { id: "page-title" }, "Devices"),
    h("p", { class: "muted" }, "States change here as the devices are heard from, fall silent or are disabled."),
    summary, announce, body);
  loading(body, "the devices");

  const devices = new Map();
  const seenPunches = new Set(); // the feed is at-least-once: a punch counted once

  function draw() {
    const rows = [...devices.values()].sort((a, b) => a.deviceId.localeCompare(b.deviceId));
    const counts = { online: 0, silent: 0, never_seen: 0, disabled: 0 };
    for (const device of rows) counts[device.state] = (counts[device.state] || 0) + 1;
    summary.replaceChildren(...Object.entries(counts).map(([state, count]) =>
      h("li", { class: `stat-${state.replaceAll("_", "-")}` }, h("strong", {}, String(count)), state.replaceAll("_", " "))));
    body.replaceChildren(table({
      caption: `${rows.length} registered device${rows.length === 1 ? "" : "s"}`,
      columns: LIST_COLUMNS,
      rows,
      key: (d) => d.deviceId,
      empty: "No devices are registered yet. Register one with POST /devices or the attendance CLI.",
    }));
  }

  function redrawRow(deviceId) {
    const row = body.querySelector(`tr[data-key="${CSS.escape(deviceId)}"]`);
    if (!row) return draw();
    const fresh = tableRow(LIST_COLUMNS, devices.get(deviceId), (d) => d.deviceId);
    fresh.classList.add("fresh");
    row.replaceWith(fresh);
    const rows = [...devices.values()];
    for (const item of summary.querySelectorAll("li")) {
      const state = item.className.replace("stat-", "").replaceAll("-", "_");
      item.querySelector("strong").textContent = String(rows.filter((d) => d.state === state).length);
    }
  }

  // What the feed tells while the list is read is told again over the reply; a later read wins.
  const reading = readWhileListening();
  let reloading = false;
  let again = false;

  async function load() {
    const read = await reading.read(() => api("/devices"));
    if (!read) return;
    devices.clear();
    for (const device of read.reply.devices) devices.set(device.deviceId, device);
    draw();
    // The reply may or may not count what was told meanwhile: each clock told of is read again, once.
    const toRead = new Set();
    for (const message of read.heard) told(message, toRead);
    for (const deviceId of toRead) readDevice(deviceId);
  }

  /** The list of record read again, for a device registered meanwhile (once more if another comes then). */
  function reload() {
    if (reloading) {
      again = true;
      return;
    }
    reloading = true;
    load().catch(() => {}).finally(() => {
      reloading = false;
      if (again) {
        again = false;
        reload();
      }
    });
  }

  /** A device's record read again: what the events do not carry (drift, last punch, today's punches). */
  function readDevice(deviceId) {
    api(devicePath(deviceId)).then((fresh) => {
      if (!devices.has(fresh.deviceId)) return;
      devices.set(fresh.deviceId, fresh);
      redrawRow(fresh.deviceId);
    }).catch(() => {});
  }

  /** `toRead`: the clocks to read again once the told messages are replayed over a list read (else at once). */
  function told(message, toRead = null) {
    const reread = (deviceId) => (toRead ? toRead.add(deviceId) : readDevice(deviceId));
    if (message.type === "device.state") {
      const change = message.device;
      const known = devices.get(change.deviceId);
      if (!known) return reload(); // a device registered meanwhile: the list of record has it
      Object.assign(known, { state: change.state, lastSeenAt: change.lastSeenAt ?? known.lastSeenAt, name: change.name ?? known.name, site: change.site ?? known.site });
      announce.textContent = `${change.deviceId} is ${change.state.replaceAll("_", " ")}.`;
      redrawRow(change.deviceId);
      reread(change.deviceId);
    } else if (message.type === "punch.accepted") {
      const punch = message.punch;
      const known = devices.get(punch.deviceId);
      if (!known) return;
      if (toRead) { // the reply may or may not count it: the record says
        seenPunches.add(punch.logId);
        return reread(punch.deviceId);
      }
      if (seenPunches.has(punch.logId)) return;
      seenPunches.add(punch.logId);
      if (!known.lastPunchAt || punch.punchTime > known.lastPunchAt) known.lastPunchAt = punch.punchTime;
      if (isToday(punch.punchTime)) known.punchesToday += 1;
      redrawRow(punch.deviceId);
    }
  }

  const stop = feed.listen((message) => {
    reading.note(message);
    told(message);
  });

  try {
    await load();
  } catch (error) {
    showError(body, error);
  }
  return stop;
}

// ---- one device ----

function facts(device) {
  const rows = [
    ["State", badge(device.state)],
    ["Name", device.name || "–"],
    ["Kind", device.kind],
    ["Serial", device.serial || "–"],
    ["Site", device.site || "–"],
    ["Clock zone", device.timeZone || `${zone} (the company's)`],
    ["Heard from via", device.via || "–"],
    ["Last seen", formatInstant(device.lastSeenAt)],
    ["Last punch", formatInstant(device.lastPunchAt)],
    ["Punches today", String(device.punchesToday)],
    ["Silent after", `${device.silentAfterMinutes} min without contact`],
    ["Clock drift", drift(device.clockDriftSeconds)],
    ["Model", device.model || "–"],
    ["Firmware", device.firmware || "–"],
    ["Last read by the poller", formatInstant(device.lastReadAt)],
    ["Poller outbox", device.outboxDepth ?? "–"],
    ["Last error", device.lastError || "–"],
  ];
  return h("dl", { class: "facts" }, rows.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))));
}

/** Why a device whose punches arrive reads silent: punches another system posts for it (a webhook, an
 * integration) are not contact with the device; only its own pushes and the edge poller's reads are. */
function quietNote(device) {
  const punchedSince = device.lastPunchAt && (!device.lastSeenAt || device.lastPunchAt > device.lastSeenAt);
  if (!punchedSince || !["silent", "never_seen"].includes(device.state)) return null;
  return h("p", { class: "muted device-note" },
    `Its last punch (${formatInstant(device.lastPunchAt)}) is newer than its last contact: punches another system posts for it `
    + "(a webhook, an integration) do not count as hearing from it. Only its own pushes (ADMS, Hikvision events) and the edge "
    + "poller's reads do.");
}

/** For admins: Disable or Enable, and Remove once disabled (the API removes only a disabled device, so that
 * nothing it sends is taken meanwhile). `changed(device)` gets the device as the API answered a change. */
function deviceControls(device, changed) {
  if (!session.isAdmin) return null; // the API refuses anyway; read keys see no controls
  const button = (label, style, action) => h("button", { type: "button", class: style, onclick: action }, label);
  return h("div", { class: "device-controls" },
    device.enabled
      ? button("Disable", "secondary", () => disableDevice(device, changed))
      : button("Enable", "secondary", () => changeDevice(device, "enabled", { method: "PATCH", body: { enabled: true } }, changed)),
    device.enabled
      ? h("small", { class: "muted" }, "A device is removed once it is disabled.")
      : button("Remove", "danger", () => removeDevice(device)));
}

const deviceLabel = (device) => (device.name ? `${device.deviceId} (${device.name})` : device.deviceId);

async function disableDevice(device, changed) {
  const question = `Disable ${deviceLabel(device)}? Punches it sends are refused from now on, until it is enabled again.`;
  if (!await confirmAction(question, "Disable")) return;
  await changeDevice(device, "disabled", { method: "POST", path: "/disable" }, changed);
}

async function changeDevice(device, done, { path = "", ...request }, changed) {
  try {
    changed(await api(`${devicePath(device.deviceId)}${path}`, request));
    notify(`${deviceLabel(device)} is ${done}.`);
  } catch (error) {
    notify(`The change failed: ${error.message}`, "error");
  }
}

async function removeDevice(device) {
  const refused = device.serial ? `A clock with serial ${device.serial}` : "It";
  const question = `Remove ${deviceLabel(device)} from the registry? Its command history goes with it; its punches stay in the `
    + `reports and the CRM. ${refused} is refused until it is registered again.`;
  if (!await confirmAction(question, "Remove")) return;
  try {
    await api(devicePath(device.deviceId), { method: "DELETE" });
  } catch (error) {
    notify(`The removal failed: ${error.message}`, "error");
    return;
  }
  notify(`${deviceLabel(device)} was removed.`);
  location.hash = "#/devices";
}

/** The recent punches' columns; `names` a Names of the employees listed, `voiding(punch)` what a void the
 * API took changes. */
const punchColumns = (names, voiding) => [
  { label: "Time", cell: (p) => formatInstant(p.punchTime) },
  { label: "Device time", cell: (p) => formatWallClock(p.localTime) },
  { label: "Employee", cell: (p) => employeeCell(p.userId, names.of(p.userId)) },
  { label: "Type", cell: (p) => h("span", { class: "punch-type" }, p.type.replaceAll("_", " "), addedByHand(p)) },
  { label: "Source", cell: (p) => p.source },
  { label: "Delivery", cell: (p) => deliveryCell(p, names, voiding) },
  { label: "Attempts", cell: (p) => String(p.attempts) },
  { label: "Last error", cell: lastErrorOf },
];

const COMMAND_COLUMNS = [
  { label: "Queued", cell: (c) => formatInstant(c.createdAt) },
  { label: "Kind", cell: (c) => c.kind.replaceAll("_", " ") },
  { label: "Command", cell: (c) => h("code", { class: "command-text" }, c.command) },
  { label: "Status", cell: (c) => badge(c.status) },
  { label: "Result", cell: (c) => (c.returnCode === null ? "–" : c.returnCode === 0 ? "0 (success)" : String(c.returnCode)) },
  { label: "Sent", cell: (c) => formatInstant(c.sentAt) },
  { label: "Finished", cell: (c) => formatInstant(c.finishedAt) },
  { label: "Expires", cell: (c) => formatInstant(c.expiresAt) },
  { label: "Queued by", cell: (c) => c.queuedBy },
];

async function renderDevice(view, deviceId) {
  const title = h("h1", { id: "page-title" }, `Device ${deviceId}`);
  const about = h("div", { class: "card device-facts" });
  const punches = h("div", { class: "device-punches" });
  const announce = h("p", { class: "visually-hidden", role: "status", "aria-live": "polite" });
  const commands = h("div", { class: "device-commands" });
  view.replaceChildren(
    h("p", { class: "back" }, h("a", { href: "#/devices" }, "← All devices")),
    title, about);
  loading(about, "the device");

  // Listening from the start: a change told while the device is read has it read again once the page is up.
  const reading = readWhileListening();
  const stopEarly = feed.listen((message) => reading.note(message));
  let device;
  let changedMeanwhile;
  try {
    const read = await reading.read(() => api(devicePath(deviceId)));
    device = read.reply;
    changedMeanwhile = read.heard.some((message) => (message.device ?? message.punch)?.deviceId === deviceId);
  } catch (error) {
    stopEarly();
    showError(about, error instanceof ApiFailure && error.status === 404 ? new ApiFailure(404, "not_found", `No device ${deviceId} is registered.`) : error);
    return undefined;
  }
  if (device.name) title.textContent = `Device ${deviceId} · ${device.name}`;
  const commandSlot = h("div");
  let formShownFor = null; // device.enabled when the command form was drawn: a form being filled in stays
  const showDevice = () => {
    about.replaceChildren(...[
      facts(device), quietNote(device), deviceControls(device, (changed) => { device = changed; showDevice(); }),
    ].filter(Boolean));
    if (formShownFor === device.enabled) return;
    formShownFor = device.enabled;
    commandSlot.replaceChildren(...[commandForm(device, () => refreshCommands())].filter(Boolean));
  };
  showDevice();

  const layout = h("div", { class: "device-layout" },
    h("section", { "aria-labelledby": "punches-title" },
      h("h2", { id: "punches-title" }, "Recent punches"),
      h("p", { class: "muted" }, `The last ${PUNCH_LIMIT}, newest first; new ones appear as they arrive.`),
      announce, punches),
    h("section", { "aria-labelledby": "commands-title" },
      h("h2", { id: "commands-title" }, "Commands"),
      commandSlot,
      commands));
  view.append(layout);

  // recent punches, then live from the feed
  let rows = [];
  const names = new Names(); // of the employees listed
  function drawPunches(freshId) {
    punches.replaceChildren(table({
      caption: `Recent punches of ${deviceId}`,
      columns: punchColumns(names, (punch) => {
        Object.assign(punch, { syncStatus: "voiding" }); // voided, or back to synced, when the feed says so
        if (!gone) drawPunches();
      }),
      rows,
      key: (p) => p.logId,
      empty: "No punches from this device yet.",
    }));
    if (freshId) punches.querySelector(`tr[data-key="${CSS.escape(freshId)}"]`)?.classList.add("fresh");
  }
  loading(punches, "the punches");
  let gone = false;
  function readAgain() {
    api(devicePath(deviceId)).then((fresh) => { if (!gone) { device = fresh; showDevice(); } }).catch(() => {});
  }
  const stop = feed.listen((message) => {
    if (message.type === "device.state" && message.device.deviceId === deviceId) {
      const known = message.device.state === device.state; // a change made from this page, answered already
      Object.assign(device, { state: message.device.state, lastSeenAt: message.device.lastSeenAt ?? device.lastSeenAt });
      showDevice();
      if (!known) readAgain();
      return;
    }
    if (!PUNCH_EVENTS.has(message.type) || message.punch?.deviceId !== deviceId) return;
    const punch = message.punch;
    const known = rows.find((p) => p.logId === punch.logId);
    if (known) {
      Object.assign(known, { syncStatus: punch.syncStatus, attempts: punch.attempts, lastError: message.error ?? known.lastError });
      drawPunches();
    } else {
      rows = [{ ...punch, lastError: message.error ?? null }, ...rows].slice(0, PUNCH_LIMIT);
      if (message.type === "punch.accepted") {
        device.punchesToday += isToday(punch.punchTime) ? 1 : 0;
        if (!device.lastPunchAt || punch.punchTime > device.lastPunchAt) device.lastPunchAt = punch.punchTime;
        showDevice();
        announce.textContent = `New punch: ${punch.userId}, ${punch.type.replaceAll("_", " ")}, ${formatInstant(punch.punchTime)}.`;
      }
      drawPunches(punch.logId);
      names.learn([punch.userId]).then((changed) => { if (changed && !gone) showNames(punches, names); });
    }
  });
  stopEarly();
  if (changedMeanwhile) readAgain();
  api(`${devicePath(deviceId)}/punches`, { query: { limit: PUNCH_LIMIT } })
    .then(async (reply) => {
      await names.learn(reply.punches.map((p) => p.userId));
      if (gone) return;
      const live = new Set(rows.map((p) => p.logId));
      rows = [...rows, ...reply.punches.filter((p) => !live.has(p.logId))].slice(0, PUNCH_LIMIT);
      drawPunches();
    })
    .catch((error) => showError(punches, error));

  // the command history, read again while a command waits for the clock
  let timer = null;
  async function refreshCommands() {
    clearTimeout(timer);
    try {
      const history = await api(`${devicePath(deviceId)}/commands`);
      if (gone) return;
      commands.replaceChildren(table({
        caption: `Command history of ${deviceId}, newest first`,
        columns: COMMAND_COLUMNS,
        rows: history.commands,
        key: (c) => c.commandId,
        empty: "No commands were queued for this device.",
      }));
      if (history.commands.some((c) => c.status === "pending" || c.status === "sent")) {
        timer = setTimeout(refreshCommands, COMMAND_REFRESH_MS);
      }
    } catch (error) {
      if (!gone) showError(commands, error);
    }
  }
  loading(commands, "the command history");
  refreshCommands();

  return () => {
    gone = true;
    clearTimeout(timer);
    stop();
  };
}

// ---- queueing a command (admins) ----

const KINDS = [
  ["set_clock", "Sync the clock to the current time"],
  ["resend_log", "Re-send its logs for a time range"],
  ["put_employee", "Push employees to the clock"],
  ["remove_employee", "Remove an employee from the clock"],
  ["reboot", "Reboot the clock"],
];

function field(id, label, input, hint) {
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("small", { class: "muted", id: `${id}-hint` }, hint) : null);
}

function commandForm(device, queued) {
  if (!session.isAdmin) return null; // the API refuses anyway; read keys see no controls
  const wrap = h("div", { class: "card command-card admin-only" });
  if (device.kind !== "zkteco") {
    wrap.append(h("p", { class: "muted" }, "Commands reach ZKTeco clocks over ADMS only; this device is a ",
      `${device.kind} terminal.`));
    return wrap;
  }
  if (!device.enabled) {
    wrap.append(h("p", { class: "muted" }, "A disabled device takes no commands: enable it to queue one."));
    return wrap;
  }
  const kind = h("select", { id: "command-kind", name: "kind" },
    KINDS.map(([value, label]) => h("option", { value }, label)));
  const from = h("input", { id: "command-from", name: "from", type: "datetime-local" });
  const to = h("input", { id: "command-to", name: "to", type: "datetime-local" });
  const users = h("input", { id: "command-users", name: "users", type: "text", autocomplete: "off", "aria-describedby": "command-users-hint" });
  const everyone = h("input", { id: "command-everyone", name: "everyone", type: "checkbox" });
  const removed = h("input", { id: "command-user", name: "user", type: "text", autocomplete: "off" });
  const result = h("div", { class: "command-result", "aria-live": "polite" });
  const button = h("button", { type: "submit" }, "Queue command");

  const groups = {
    resend_log: h("div", { class: "command-fields" },
      field("command-from", "From (the clock's time)", from),
      field("command-to", "To (the clock's time)", to)),
    put_employee: h("div", { class: "command-fields" },
      field("command-users", "Employee IDs", users, "Separated by spaces or commas; each is put on the clock with the directory's name, as a normal user: one who is an administrator on the clock becomes a normal user."),
      h("div", { class: "field check" }, everyone, h("label", { for: "command-everyone" }, "Every employee in the directory (but those who have left)"))),
    remove_employee: h("div", { class: "command-fields" }, field("command-user", "Employee ID", removed)),
  };

  function show() {
    for (const [name, group] of Object.entries(groups)) group.hidden = name !== kind.value;
    from.required = to.required = kind.value === "resend_log";
    removed.required = kind.value === "remove_employee";
    users.required = kind.value === "put_employee" && !everyone.checked;
    users.disabled = everyone.checked;
  }
  kind.addEventListener("change", show);
  everyone.addEventListener("change", show);
  const day = addDays(today(device.timeZone), -1); // yesterday on the clock, whose time the range is in
  from.value = `${day}T00:00`;
  to.value = `${day}T23:59`;
  show();

  async function userIds() {
    if (!everyone.checked) return users.value.split(/[\s,;]+/).filter(Boolean);
    const directory = await api("/employees");
    return directory.employees.filter((e) => !hasLeft(e)).map((e) => e.userId); // those who left are not put on clocks
  }

  async function submit(event) {
    event.preventDefault();
    if (!form.reportValidity()) return;
    if (kind.value === "reboot" && !(await confirmAction(`Reboot ${device.deviceId}? It stops taking punches until it is back.`, "Reboot"))) return;
    button.disabled = true;
    result.replaceChildren();
    try {
      let bodies;
      if (kind.value === "resend_log") bodies = [{ kind: "resend_log", from: from.value, to: to.value }];
      else if (kind.value === "put_employee") bodies = (await userIds()).map((userId) => ({ kind: "put_employee", userId }));
      else if (kind.value === "remove_employee") bodies = [{ kind: "remove_employee", userId: removed.value.trim() }];
      else bodies = [{ kind: kind.value }];
      if (!bodies.length) {
        result.replaceChildren(h("p", { class: "error", role: "alert" }, "The directory has no employees to push."));
        return;
      }
      for (const body of bodies) await api(`${devicePath(device.deviceId)}/commands`, { method: "POST", body });
      const what = bodies.length === 1 ? "Command queued" : `${bodies.length} commands queued`;
      result.replaceChildren(h("p", { class: "ok" }, `${what}: the clock fetches it on its next poll.`));
      notify(`${what} for ${device.deviceId}.`);
    } catch (error) {
      showError(result, error);
    } finally {
      button.disabled = false;
      queued();
    }
  }

  const form = h("form", { class: "command-form", "aria-labelledby": "queue-title", onsubmit: submit },
    h("h3", { id: "queue-title" }, "Queue a command"),
    field("command-kind", "Command", kind),
    ...Object.values(groups),
    h("div", { class: "actions" }, button),
    result);
  wrap.append(form);
  return wrap;
}
