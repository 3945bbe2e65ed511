// The live page: punches as they arrive from the feed (no reload, no polling), their delivery status
// updating in place, today's counts, who is in now, and device state changes.
//
// On open it reads the state of record (today's latest punches, today's daily report for the counts,
// /presence for who is in, the devices and the listed employees' names); from then on only the feed changes
// what it shows. The feed is best effort: after it reconnects, all of it is read again, since the feed
// missed what happened meanwhile.
//
// Admins can void a punch that should not count (a test punch, one punched twice by mistake): asked for
// a reason, the API takes it, and the feed tells when it left the CRM and the reports.
import {
  Names, addedByHand, api, badge, crmErrorInWords, DELIVERY_STATE, employeeCell, feed, formatClock, h, notVoided, showError,
  readWhileListening, tableRow, technicalDetail, today, useStyles, zone, zoneName,
} from "./core.js";
import { voidButton } from "./void-punch.js";

const MAX_ROWS = 200;
const LATEST_ROWS = 50; // today's punches listed on open, before any arrives
const MAX_DEVICE_NEWS = 8;

// Status of a punch's delivery, and which update may replace which (events can come twice or late).
// A void outranks all: only the CRM refusing it (punch.void_refused) brings a punch back to delivered.
const RANK = { pending: 0, failed: 1, dead_lettered: 2, abandoned: 2, delivered: 3, voiding: 4, voided: 5 };
const VOIDABLE = new Set(["pending", "failed", "dead_lettered", "abandoned", "delivered"]);
// The presence a punch type leaves its employee in (as the API decides it).
const PRESENCE_AFTER = {
  in: "in", overtime_in: "in", break_in: "in", break_out: "on_break", out: "out", overtime_out: "out",
};
const DAY_MS = 24 * 60 * 60 * 1000;
const dayFormat = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });

export function render(view) {
  useStyles("page-live.css");

  const names = new Names(); // of the employees shown
  const deviceNames = new Map(); // deviceId -> name
  const deviceStates = new Map(); // deviceId -> state, for the summary line
  const present = new Map(); // userId -> {status, since (ISO), deviceId}
  const rows = new Map(); // logId -> record
  const counted = new Set(); // logIds already in today's counts
  const todaysUsers = new Set();
  let punchesToday = null; // null until the report is read
  let baseline = null; // what the counts start from: {day, presence, report}; null while being read
  const pending = []; // punch events that came while the state of record was being read
  let devicesLoaded = false;

  // ---- the page's parts ----

  const stats = {
    punches: h("strong", {}, "…"),
    people: h("strong", {}, "…"),
    in: h("strong", {}, "…"),
    onBreak: h("strong", {}, "…"),
  };
  const summary = h("ul", { class: "stats live-stats", "aria-label": "Today" },
    h("li", {}, stats.punches, "Punches today"),
    h("li", {}, stats.people, "Employees who punched"),
    h("li", {}, stats.in, "In now"),
    h("li", {}, stats.onBreak, "On a break"));
  const summaryNote = h("div", {}, h("p", { class: "loading", role: "status" }, "Loading today's counts…"));

  const announcer = h("p", { class: "visually-hidden", role: "status", "aria-live": "polite", id: "live-announcer" });
  const empty = h("p", { class: "empty live-empty" }, "Loading today's punches…");
  const latestNote = h("div", {});
  const columns = [
    { label: "Time", cell: timeCell },
    { label: "Employee", cell: ({ punch }) => employeeCell(punch.userId, names.of(punch.userId)) },
    { label: "Device", cell: deviceCell },
    { label: "Type", cell: (record) => h("span", { class: "punch-type" }, badge(record.punch.type), addedByHand(record.punch)) },
    { label: "Status", cell: statusCell },
  ];
  const body = h("tbody", {});
  const wrap = h("div", { class: "table-wrap live-table", hidden: true },
    h("table", {},
      h("caption", {}, "Today's punches, latest on top"),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c.label)))),
      body));

  const peopleList = h("ul", { class: "people", "aria-labelledby": "who-is-in" });
  const peopleArea = h("div", {}, h("p", { class: "loading", role: "status" }, "Loading who is in…"));
  const deviceSummary = h("div", { class: "muted device-summary" }, "Loading devices…");
  const deviceNews = h("ul", { class: "device-news", "aria-label": "Device changes" });
  const deviceEmpty = h("p", { class: "muted small" }, "No device has changed state since this page opened.");

  view.replaceChildren(
    h("h1", { id: "page-title" }, "Live"),
    h("p", { class: "muted lede" }, "Today's punches, with new ones added as they arrive; their delivery to the CRM updates in place."),
    summary,
    summaryNote,
    h("div", { class: "live-grid" },
      h("div", { class: "live-main" }, announcer, latestNote, empty, wrap),
      h("aside", { class: "live-side", "aria-label": "Now" },
        h("section", { class: "card", "aria-labelledby": "who-is-in" },
          h("h2", { id: "who-is-in" }, "Who is in now"),
          peopleArea),
        h("section", { class: "card", "aria-labelledby": "live-devices" },
          h("h2", { id: "live-devices" }, "Devices"),
          deviceSummary, deviceEmpty, deviceNews))));

  // Listen first, so nothing that happens while the state of record is read is missed.
  const devicesReading = readWhileListening(); // a device's change told while the devices are read
  const stopListening = feed.listen((message) => {
    devicesReading.note(message);
    onMessage(message);
  });

  let closed = false;
  let reading = 0; // the latest readState() call; an older one that ends later is dropped

  // After a reconnect the feed has missed what happened meanwhile: read the counts and who is in
  // again (once per reconnect, not on a timer).
  const indicator = document.getElementById("feed-status");
  let wasOffline = false;
  const watcher = new MutationObserver(() => {
    const state = indicator.dataset.state;
    if (state === "reconnecting" || state === "offline") wasOffline = true;
    else if (state === "online" && wasOffline) {
      wasOffline = false;
      readState();
      readLatest();
    }
  });
  if (indicator) watcher.observe(indicator, { attributes: true, attributeFilter: ["data-state"] });

  start().catch((error) => showError(summaryNote, error));

  return () => {
    closed = true;
    stopListening();
    watcher.disconnect();
  };

  async function start() {
    try {
      const read = await devicesReading.read(() => api("/devices"));
      if (closed) return;
      for (const device of read.reply.devices) {
        deviceNames.set(device.deviceId, device.name);
        deviceStates.set(device.deviceId, device.state);
      }
      for (const { type, device } of read.heard) if (type === "device.state" && device) deviceStates.set(device.deviceId, device.state);
      devicesLoaded = true;
      showDeviceSummary();
    } catch (error) {
      if (closed) return;
      showError(deviceSummary, error);
    }
    refreshNames(); // the rows of punches the feed brought meanwhile, with their devices' names
    await Promise.all([readState(), readLatest()]);
  }

  // ---- today's latest punches, listed on open (and after a reconnect: those the feed missed) ----

  async function readLatest() {
    let reply;
    try {
      reply = await api("/reports/punches", { query: { date: today(), limit: LATEST_ROWS } });
    } catch (error) {
      if (closed) return;
      showError(latestNote, error);
      empty.textContent = "Today's earlier punches could not be read; new ones appear here as they arrive.";
      return;
    }
    await names.learn(reply.punches.map((punch) => punch.userId));
    if (closed) return;
    latestNote.replaceChildren();
    // Each in its place by punch time; punches the feed brought meanwhile stay where they are, with
    // what the list knows and their event did not say (when they arrived, a later status).
    for (const listed of reply.punches) {
      const known = rows.get(listed.logId);
      if (known) fillIn(known, recordOf(listed));
      else addRow(recordOf(listed), { fresh: false, byTime: true });
    }
    empty.textContent = "No punches yet today. They appear here as they arrive.";
  }

  function fillIn(record, listed) {
    record.arrived ||= listed.arrived;
    record.punch = { ...listed.punch, ...record.punch };
    if (RANK[listed.status] > RANK[record.status]) {
      Object.assign(record, { status: listed.status, detail: listed.detail, error: listed.error, attempt: listed.attempt });
    }
    redraw(record);
  }

  function recordOf(listed) {
    const { syncStatus, lastError, ...punch } = listed;
    const retrying = syncStatus === "pending" && punch.attempts > 0;
    // Once delivered, an earlier attempt's error is history: the row says delivered (and after how many
    // attempts), as it does when the delivery comes from the feed; only a void the CRM refused is said.
    const delivered = syncStatus === "synced";
    const why = delivered ? notVoided(lastError) : crmErrorInWords(lastError);
    return {
      punch,
      arrived: listed.receivedAt,
      status: retrying ? "failed" : DELIVERY_STATE[syncStatus] ?? syncStatus,
      detail: retrying ? `Attempt ${punch.attempts}: ${why || "failed"} (will retry)` : why,
      error: delivered && !why ? null : lastError,
      attempt: punch.attempts,
    };
  }

  // ---- the state of record: today's counts and who is in ----

  async function readState() {
    baseline = null; // punches arriving meanwhile wait in `pending`
    const mine = ++reading;
    const day = today();
    const [presence, report] = await Promise.allSettled([
      api("/presence"),
      api("/reports/daily", { query: { date: day } }),
    ]);
    if (closed || mine !== reading) return;
    present.clear();
    if (presence.status === "fulfilled") {
      for (const group of [presence.value.in, presence.value.onBreak]) {
        for (const person of group) {
          names.remember(person.userId, person.name);
          present.set(person.userId, {
            status: PRESENCE_AFTER[person.lastPunch.type] || "in",
            since: person.lastPunch.time,
            deviceId: person.lastPunch.deviceId,
          });
        }
      }
      drawPeople();
    } else {
      showError(peopleArea, presence.reason);
    }
    todaysUsers.clear();
    punchesToday = null;
    if (report.status === "fulfilled") {
      punchesToday = report.value.rows.reduce((sum, row) => sum + row.punches, 0);
      for (const row of report.value.rows) todaysUsers.add(row.userId);
    }
    const failure = [report, presence].find((result) => result.status === "rejected");
    if (failure) showError(summaryNote, failure.reason);
    else summaryNote.replaceChildren();
    baseline = { day, presence: presence.status === "fulfilled", report: report.status === "fulfilled" };
    for (const punch of pending.splice(0)) countPunch(punch);
    drawCounts();
  }

  // ---- feed messages ----

  function onMessage(message) {
    const punch = message.punch;
    if (message.type === "device.state" && message.device) return deviceChanged(message);
    if (!punch || !punch.logId) return; // a type this page does not show
    if (message.type === "punch.accepted") accepted(punch, message.at);
    else if (message.type === "punch.delivered") update(punch, "delivered", message, message.crmReference ? `CRM reference ${message.crmReference}` : "");
    else if (message.type === "punch.failed") {
      const next = message.final ? "gave up" : "will retry";
      update(punch, "failed", message, `Attempt ${message.attempt}: ${crmErrorInWords(message.error) || "failed"} (${next})`);
    } else if (message.type === "punch.dead_lettered") update(punch, "dead_lettered", message, crmErrorInWords(message.error));
    else if (message.type === "punch.abandoned") update(punch, "abandoned", message, message.note || "");
    else if (message.type === "punch.voided") {
      update(punch, "voided", message, message.reason || "");
      // Out of today's counts and of who is in: read again, as the API now reckons them without it.
      if (isToday(punch.punchTime)) readState();
    }
    else if (message.type === "punch.void_refused") {
      // Back to delivered: the CRM kept it.
      const said = notVoided(message.error) || `Not voided: ${crmErrorInWords(message.error)}`;
      update(punch, "delivered", message, said, { settled: true });
    }
  }

  function accepted(punch, at) {
    if (rows.has(punch.logId)) {
      // The event came twice, or after its delivery: the row is there already.
      const record = rows.get(punch.logId);
      record.arrived ||= at;
      redraw(record);
      return;
    }
    addRow({ punch, arrived: at, status: "pending", detail: "", attempt: 0 });
    if (baseline) countPunch(punch);
    else pending.push(punch);
    const who = nameOf(punch.userId);
    announcer.textContent = `New punch: ${who}, ${punch.type.replaceAll("_", " ")}, at ${punch.deviceId}.`;
    learnNames([punch.userId]);
  }

  /** `settled`: the event ends a void, from voiding or before the page marked it so (the CRM refused it). */
  function update(punch, status, message, detail, { settled = false } = {}) {
    let record = rows.get(punch.logId);
    if (!record) {
      // A punch from before this page opened, delivered (or failing) now: shown, not counted.
      record = addRow({ punch, arrived: null, status: "pending", detail: "", attempt: 0 });
    }
    const attempt = message.attempt || 0;
    const ended = settled && record.status === "voiding";
    if (RANK[status] < RANK[record.status] && !ended) return; // a late, older event
    if (!settled && status === record.status && attempt < record.attempt) return;
    record.punch = { ...record.punch, ...punch };
    record.status = status;
    record.detail = detail;
    record.error = message.error ?? null; // the raw text behind `detail`, when that is a delivery's error
    record.attempt = attempt;
    redraw(record);
    record.row.classList.remove("changed");
    void record.row.offsetWidth; // restart the highlight
    record.row.classList.add("changed");
    if (status === "failed" || status === "dead_lettered") {
      announcer.textContent = `Delivery ${status === "failed" ? "failed" : "gave up"} for ${nameOf(punch.userId)}'s punch: ${detail}`;
    }
  }

  // ---- the table ----

  /** On top (as it arrives), or `byTime`: above the first row with an earlier punch time. */
  function addRow(record, { fresh = true, byTime = false } = {}) {
    record.row = tableRow(columns, record, () => record.punch.logId);
    if (fresh) record.row.classList.add("fresh");
    record.row.dataset.user = record.punch.userId;
    rows.set(record.punch.logId, record);
    body.insertBefore(record.row, byTime ? firstRowBefore(record.punch.punchTime) : body.firstElementChild);
    while (rows.size > MAX_ROWS) {
      const oldest = body.lastElementChild;
      rows.delete(oldest.dataset.key);
      oldest.remove();
    }
    empty.hidden = true;
    wrap.hidden = false;
    return record;
  }

  function firstRowBefore(punchTime) {
    const when = Date.parse(punchTime);
    return [...body.children].find((row) => Date.parse(rows.get(row.dataset.key)?.punch.punchTime) < when) ?? null;
  }

  function redraw(record) {
    const fresh = tableRow(columns, record, () => record.punch.logId);
    record.row.replaceChildren(...fresh.children);
  }

  function timeCell({ punch, arrived }) {
    const local = punch.localTime || "";
    const day = local.slice(0, 10);
    const clock = local.slice(11, 19);
    return h("div", {},
      h("time", { datetime: punch.punchTime }, day && day !== today() ? `${day} ${clock}` : clock),
      " ", h("span", { class: "muted small" }, zoneName(punch.timeZone)),
      h("div", { class: "muted small" }, arrived ? `arrived ${formatClock(arrived)}` : "arrived before this page opened"));
  }

  function deviceCell({ punch }) {
    const name = deviceNames.get(punch.deviceId);
    return h("div", {}, name || punch.deviceId, name ? h("div", { class: "muted small" }, punch.deviceId) : null);
  }

  function statusCell(record) {
    const { status, detail, punch } = record;
    const mark = badge(status);
    if (detail) mark.setAttribute("title", detail);
    const attempts = status === "delivered" && punch.attempts > 1 ? `after ${punch.attempts} attempts` : "";
    const line = detail || attempts;
    const quiet = status === "delivered" || status.startsWith("void");
    return h("div", { class: "status-cell" }, mark,
      line ? h("div", { class: quiet ? "muted small" : "small problem" }, line) : null,
      technicalDetail(record.error),
      VOIDABLE.has(status) ? voidButton(punch, names, (reason) => {
        if (!closed) update(punch, "voiding", {}, `Being removed from the CRM: ${reason}`);
      }) : null);
  }

  // ---- today's counts and who is in ----

  function countPunch(punch) {
    if (baseline.day !== today()) {
      // A new day began while the page was open: today's counts start from the state of record.
      pending.push(punch);
      readState();
      return;
    }
    if (counted.has(punch.logId)) return;
    counted.add(punch.logId);
    if (isToday(punch.punchTime) && baseline?.report) {
      punchesToday += 1;
      todaysUsers.add(punch.userId);
    }
    const since = present.get(punch.userId)?.since;
    const when = Date.parse(punch.punchTime);
    const recent = when <= Date.now() + 60_000 && Date.now() - when < DAY_MS;
    if (baseline?.presence && recent && (!since || when >= Date.parse(since))) {
      const status = PRESENCE_AFTER[punch.type] || "in";
      if (status === "out") present.delete(punch.userId);
      else present.set(punch.userId, { status, since: punch.punchTime, deviceId: punch.deviceId });
      drawPeople();
    }
    drawCounts();
  }

  function isToday(iso) {
    return dayFormat.format(new Date(iso)) === today();
  }

  function drawCounts() {
    const people = [...present.values()];
    stats.punches.textContent = punchesToday === null ? "–" : String(punchesToday);
    stats.people.textContent = punchesToday === null ? "–" : String(todaysUsers.size);
    stats.in.textContent = baseline?.presence ? String(people.filter((p) => p.status === "in").length) : "–";
    stats.onBreak.textContent = baseline?.presence ? String(people.filter((p) => p.status === "on_break").length) : "–";
  }

  function drawPeople() {
    const people = [...present.entries()]
      .map(([userId, state]) => ({ userId, ...state }))
      .sort((a, b) => (a.status === b.status ? Date.parse(a.since) - Date.parse(b.since) : a.status === "in" ? -1 : 1));
    if (!people.length) {
      peopleArea.replaceChildren(h("p", { class: "empty" }, "Nobody is in right now."));
      return;
    }
    peopleList.replaceChildren(...people.map((person) => {
      const name = names.of(person.userId);
      return h("li", { dataset: { user: person.userId } },
        h("span", { class: "person" }, name || person.userId),
        name ? h("span", { class: "muted small" }, ` ${person.userId}`) : null,
        person.status === "on_break" ? [" ", badge("on_break")] : null,
        h("div", { class: "muted small" },
          "since ", h("time", { datetime: person.since }, formatClock(person.since)), ` · ${person.deviceId}`));
    }));
    peopleArea.replaceChildren(peopleList);
  }

  // ---- names of people the page had not heard of ----

  function nameOf(userId) {
    return names.of(userId) || userId;
  }

  function learnNames(userIds) {
    names.learn(userIds).then((changed) => { if (changed && !closed) refreshNames(); });
  }

  function refreshNames() {
    for (const record of rows.values()) redraw(record);
    if (baseline?.presence) drawPeople();
  }

  // ---- devices ----

  function showDeviceSummary() {
    if (!deviceStates.size) {
      deviceSummary.textContent = "No devices registered.";
      return;
    }
    const byState = {};
    for (const state of deviceStates.values()) byState[state] = (byState[state] || 0) + 1;
    const parts = Object.entries(byState).map(([state, n]) => `${n} ${state.replaceAll("_", " ")}`);
    deviceSummary.textContent = `${deviceStates.size} registered: ${parts.join(", ")}.`;
  }

  function deviceChanged(message) {
    const device = message.device;
    if (device.name) deviceNames.set(device.deviceId, device.name);
    if (devicesLoaded) {
      deviceStates.set(device.deviceId, device.state);
      showDeviceSummary();
    }
    const label = device.name ? `${device.name} (${device.deviceId})` : device.deviceId;
    deviceNews.prepend(h("li", { class: "fresh" },
      h("time", { datetime: message.at, class: "muted small" }, formatClock(message.at)), " ",
      `${label} is now `, badge(device.state)));
    while (deviceNews.children.length > MAX_DEVICE_NEWS) deviceNews.lastElementChild.remove();
    deviceEmpty.hidden = true;
    if (device.state === "silent") announcer.textContent = `Device ${label} is now silent.`;
  }
}
