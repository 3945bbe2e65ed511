// What every page of the dashboard shares: the session, the API, the live feed, times in the company's
// zone, and a few accessible building blocks. Plain ES modules: no build step, no third-party code.

export const zone = document.querySelector('meta[name="company-zone"]')?.content || "UTC";

const KEY = "attendance-sync.api-key";

/** The signed-in key lives in sessionStorage: this tab only, gone when it closes or on sign-out. */
export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  scopes: [],
  get isAdmin() { return this.scopes.includes("admin"); },
  start(key, scopes) { sessionStorage.setItem(KEY, key); this.scopes = scopes; },
  end() { sessionStorage.removeItem(KEY); this.scopes = []; },
};

export class ApiFailure extends Error {
  constructor(status, error, message, details = [], body = {}) {
    super(message);
    this.status = status;
    this.error = error;
    this.details = details; // the fields at fault, as the API names them: {location, field, problem}
    this.body = body; // the reply as it came, for a refusal that says more (a duplicate punch's reason)
  }
}

function url(path, query) {
  const target = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") target.searchParams.set(name, value);
  }
  return target;
}

// `body` is sent as JSON; a `file` (a File or Blob) as it is, typed `contentType`.
async function request(path, { method = "GET", body, file, contentType, query, accept = "application/json" } = {}) {
  const headers = { Authorization: `Bearer ${session.key}`, Accept: accept };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (file !== undefined) headers["Content-Type"] = contentType;
  let reply;
  try {
    reply = await fetch(url(path, query), { method, headers, body: file ?? (body === undefined ? undefined : JSON.stringify(body)) });
  } catch {
    throw new ApiFailure(0, "unreachable", "The API cannot be reached. Check the connection and try again.");
  }
  if (!reply.ok) {
    let problem = {};
    try { problem = await reply.json(); } catch { /* not JSON: API Gateway's own answer */ }
    throw new ApiFailure(reply.status, problem.error || "error", problem.message || `${reply.status} ${reply.statusText}`, problem.details || [], problem);
  }
  return reply;
}

/** JSON from the API; a refusal becomes an ApiFailure with the API's own message. */
export async function api(path, options) {
  return (await apiWithStatus(path, options)).body;
}

/** JSON from the API with the reply's status, for a caller that tells 201 (created) from 200 (changed). */
export async function apiWithStatus(path, options) {
  const reply = await request(path, options);
  return { status: reply.status, body: reply.status === 204 ? null : await reply.json() };
}

/** Text (CSV) from the API. */
export async function apiText(path, options) {
  return (await request(path, { ...options, accept: "text/csv" })).text();
}

/** CSV text from the API saved as `filename` (never a URL holding the key: a Blob's). */
export function saveCsv(text, filename) {
  // Reading a reply as text drops the byte-order mark the API sends for spreadsheets: put it back, so the
  // file is the API's own, byte for byte.
  const blob = new Blob([text.startsWith("\ufeff") ? "" : "\ufeff", text], { type: "text/csv;charset=utf-8" });
  const link = h("a", { href: URL.createObjectURL(blob), download: filename, class: "hidden-link" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000); // once the browser has saved it
}

// ---- times: every time shown is in the company's zone, and says so once in the header ----

// Dates in the reader's own order; times on the 24-hour clock, as the reports and the clocks show them.
const instantFormat = new Intl.DateTimeFormat(undefined, {
  timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  hourCycle: "h23",
});
const clockFormat = new Intl.DateTimeFormat(undefined, {
  timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
});

/** An instant (ISO, UTC) as date and time in the company's zone; "–" for none. */
export function formatInstant(iso) {
  return iso ? instantFormat.format(new Date(iso)) : "–";
}

// A device's own wall-clock time (no zone) in the same order: formatted as if it were UTC, so unshifted.
const wallClockFormat = new Intl.DateTimeFormat(undefined, {
  timeZone: "UTC", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  hourCycle: "h23",
});

/** A wall-clock time as a device recorded it (ISO without offset), in the order instants are shown. */
export function formatWallClock(local) {
  const moment = local ? new Date(`${local}Z`) : null;
  return moment && !Number.isNaN(moment.getTime()) ? wallClockFormat.format(moment) : local || "–";
}

/** An instant as a time of day in the company's zone. */
export function formatClock(iso) {
  return iso ? clockFormat.format(new Date(iso)) : "–";
}

// UTC by the names a punch can carry it under: a clock's offset, or the IANA name of a device or the company.
const UTC_NAMES = new Set(["+00:00", "-00:00", "UTC", "Etc/UTC", "Etc/UCT", "UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"]);
const OFFSET = /^[+-]\d{2}:\d{2}$/;

/** A punch's zone (an IANA name or a fixed offset) as every page names it: UTC however it came, UTC+05:30
 * for another offset, any other name as it is. */
export function zoneName(timeZone) {
  if (!timeZone) return "";
  if (UTC_NAMES.has(timeZone)) return "UTC";
  return OFFSET.test(timeZone) ? `UTC${timeZone}` : timeZone;
}

/** Today's date (YYYY-MM-DD) in `timeZone`, by default the company's (and for a zone the browser does not
 * know, such as one half typed). */
export function today(timeZone = zone) {
  const format = (name) => new Intl.DateTimeFormat("en-CA", { timeZone: name, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
  try {
    return format(timeZone || zone);
  } catch {
    return format(zone);
  }
}

/**
 * A list read while the feed talks: the page passes every feed message to `note(message)`, and
 * `read(request)` resolves to `{ reply, heard }`, the messages heard while the request was out, to apply
 * over the reply in the order they came (a reply read before them lacks what they say), or to null when a
 * later read superseded this one (whose failure alone is thrown).
 */
export function readWhileListening() {
  let heard = null;
  return {
    note(message) {
      heard?.push(message);
    },
    async read(request) {
      const mine = (heard = []);
      try {
        const reply = await request();
        return heard === mine ? { reply, heard: mine } : null;
      } catch (error) {
        if (heard === mine) throw error;
        return null; // superseded: the later read says what failed, if anything
      } finally {
        if (heard === mine) heard = null;
      }
    },
  };
}

/** A calendar date (YYYY-MM-DD) moved by `days`. */
export function addDays(date, days) {
  const moment = new Date(`${date}T12:00:00Z`);
  moment.setUTCDate(moment.getUTCDate() + days);
  return moment.toISOString().slice(0, 10);
}

/** A date input that says today in a zone until a day is picked, by the person or by `pick(day)`: call
 * `follow(zone)` whenever the zone changes. A picked day stays even when it is that zone's today, so a day
 * asked for is never moved by a later choice of zone. */
export function todayUntilPicked(input) {
  let picked = false;
  input.addEventListener("input", () => { picked = true; });
  return {
    follow(timeZone) {
      if (!picked) input.value = today(timeZone);
    },
    pick(day) {
      input.value = day;
      picked = true;
    },
    picked: () => picked,
  };
}

/** Whether an employee's last working day (leftOn) is past: they are no longer expected at work. */
export function hasLeft(employee) {
  return Boolean(employee.leftOn) && employee.leftOn < today();
}

// ---- building blocks ----

/** h("a", {href: "#/x"}, "text", child): an element; attributes starting with "on" are listeners. */
export function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2).toLowerCase(), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/**
 * A table with a caption; `columns` are [{label, cell: row => Node|string}], `key` names each row
 * (data-key) so live updates can find it. An empty list shows `empty` instead.
 */
export function table({ caption, columns, rows, empty, key }) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  const body = h("tbody", {}, rows.map((row) => tableRow(columns, row, key)));
  return h("div", { class: "table-wrap" },
    h("table", {}, h("caption", {}, caption),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c.label)))), body));
}

export function tableRow(columns, row, key) {
  return h("tr", { dataset: key ? { key: key(row) } : undefined }, columns.map((c) => h("td", { dataset: { label: c.label } }, c.cell(row))));
}

/** A status word with its colour; the word itself carries the meaning (not the colour alone). */
export function badge(value) {
  const text = String(value ?? "–").replaceAll("_", " ");
  return h("span", { class: `badge badge-${String(value).replaceAll("_", "-")}` }, text);
}

/** " · added by hand" under a punch an admin added (a missed punch, or one of the wrong type corrected),
 * or null for one its clock recorded. */
export function addedByHand(punch) {
  return punch.source === "manual" ? [" ", h("span", { class: "muted small by-hand" }, "added by hand")] : null;
}

/** A stored punch's delivery status in the words every page shows: the API's synced and failed are the
 * punch delivered and the punch dead-lettered (a failed attempt that will be retried stays pending). */
export const DELIVERY_STATE = {
  pending: "pending", synced: "delivered", failed: "dead_lettered", abandoned: "abandoned", voiding: "voiding", voided: "voided",
};

export function deliveryBadge(syncStatus) {
  return badge(DELIVERY_STATE[syncStatus] ?? syncStatus);
}

/** A punch's last delivery error while it still matters: once the punch is delivered, an earlier attempt's
 * error is history (its attempts say it took more than one), unless it is the CRM's refusal to remove it
 * when an admin voided it: the punch stays delivered, and that is why. */
export function lastErrorOf(punch) {
  if (punch.syncStatus !== "synced") return deliveryErrorView(punch.lastError);
  const refusal = notVoided(punch.lastError);
  return refusal ? h("div", { class: "delivery-error" }, refusal, technicalDetail(punch.lastError, refusal)) : "–";
}

// ---- a delivery's error in words ----

// The shapes the worker records (attendance.delivery): the CRM's answer cut short, or why none came.
const CRM_ANSWER = /^HTTP (\d{3})(?:: (.*))?$/s;
const NO_ANSWER = /^CRM did not answer within (\S+ s)$/;
const UNREACHABLE = /^CRM unreachable: /;
const RATE_LIMITED = /^rate limited by the CRM \((.*)\); (trying again in .*)$/s;
// ... and while a punch is voided (attendance.delivery.service): its record kept by the CRM, or not removed yet.
const REMOVAL_REFUSED = /^the CRM would not remove it: (.*)$/s;
const REMOVAL_FAILED = /^removal from the CRM: (.*)$/s;
const WHILE_VOIDING = /^(.*); (the delivery failed as the punch was being voided: .*|dead-lettered as it was voided: .*)$/s;
const STATUS_WORDS = {
  401: "The CRM did not accept our credentials", 403: "The CRM did not allow it", 408: "The CRM timed out",
  425: "The CRM asked us to wait", 429: "The CRM asked us to wait", 500: "The CRM failed with an error of its own",
};

/** A punch's delivery error as HR reads it ("The CRM refused the punch (HTTP 422): unknown employee");
 * a shape the worker does not record comes back as it is; "" for none. */
export function crmErrorInWords(error) {
  if (!error) return "";
  const limited = RATE_LIMITED.exec(error);
  if (limited) return `${crmErrorInWords(limited[1])}; ${limited[2]}`;
  const kept = REMOVAL_REFUSED.exec(error);
  if (kept) return answerInWords(kept[1], () => "The CRM would not remove it") ?? `The CRM would not remove it: ${kept[1]}`;
  const notYet = REMOVAL_FAILED.exec(error);
  if (notYet) return `Not removed from the CRM yet: ${lowerFirst(crmErrorInWords(notYet[1]))}`;
  const voiding = WHILE_VOIDING.exec(error);
  if (voiding) return `${crmErrorInWords(voiding[1])}; ${voiding[2]}`;
  const waited = NO_ANSWER.exec(error);
  if (waited) return `The CRM did not answer in time (waited ${waited[1]})`;
  if (UNREACHABLE.test(error)) return "The CRM could not be reached (no connection)";
  return answerInWords(error) ?? error;
}

/** The CRM's answer ("HTTP 422: …") in words, `said(status)` the words for its status; null for another
 * shape. */
function answerInWords(error, said = (status) => STATUS_WORDS[status] ?? (status >= 500 ? "The CRM was unavailable" : "The CRM refused the punch")) {
  const answer = CRM_ANSWER.exec(error);
  if (!answer) return null;
  const status = Number(answer[1]);
  const message = crmMessage(answer[2]);
  return `${said(status)} (HTTP ${status})${message ? `: ${message}` : ""}`;
}

/** What a CRM's answer says in words: a JSON body's message, or a plain text; "" for none (a web page, or
 * JSON cut short, which only the raw answer can show). */
function crmMessage(body) {
  if (!body) return "";
  let parsed;
  try {
    parsed = JSON.parse(body);
  } catch {
    return /^[[{<]/.test(body) ? "" : body;
  }
  const said = [parsed?.message, parsed?.error, parsed?.detail, parsed?.title, parsed?.error?.message];
  return said.find((text) => typeof text === "string" && text.trim()) ?? "";
}

const lowerFirst = (text) => (/^The CRM\b/.test(text) ? `t${text.slice(1)}` : text);

/** "Not voided: …" for the error a void leaves on a punch the CRM would not remove (it stays delivered);
 * "" for any other. */
export function notVoided(error) {
  return error && REMOVAL_REFUSED.test(error) ? `Not voided: ${crmErrorInWords(error)}` : "";
}

// A void's notes in its history (attendance.delivery.service and .corrections), as "How it went" says them.
const REMOVED = /^voided; (.+) (removed|gone already) \((HTTP \d{3}.*)\) in the CRM(?:; (.*))?$/s;
const ASKED = /^voided by an admin \([^)]*\): .*?(?:; to be added again as (\w+))?$/s;
const PUNCH_TYPE_NAMED = /\b((?:not )?added again as|adding it again as) (\w+)(?:: [0-9a-f]{32}\b)?/g; // the new punch's logId left to the note

/** How a void went, from the latest note of its punch's history, in words: its record removed from the
 * CRM (or gone already), a correction's note with the type in words, a removal failed for now as
 * crmErrorInWords says it. A note of another shape comes back as it is. */
export function voidNoteInWords(note) {
  if (!note) return "";
  const asked = ASKED.exec(note);
  if (asked) return `Being removed from the CRM${asked[1] ? `, then added again as ${asked[1].replaceAll("_", " ")}` : ""}`;
  const removed = REMOVED.exec(note);
  const said = removed
    ? `${removed[2] === "removed" ? `Removed from the CRM (its record ${removed[1]})` : `The CRM had no record ${removed[1]} any more: nothing to remove`}${removed[4] ? `; ${removed[4]}` : ""}`
    : crmErrorInWords(note);
  const words = said.replace(PUNCH_TYPE_NAMED, (_, doing, type) => `${doing} ${type.replaceAll("_", " ")}`);
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The raw error (or note) under a disclosure for admins, when the words (`said`: crmErrorInWords's, unless
 * given) leave some of it out; else null. */
export function technicalDetail(error, said = crmErrorInWords(error)) {
  if (!error || said === error) return null;
  return h("details", { class: "technical-detail admin-only" }, h("summary", {}, "Technical detail"), h("samp", {}, error));
}

/** A punch's delivery error in words, its raw text a disclosure away for admins; "–" for none. */
export function deliveryErrorView(error) {
  return error ? h("div", { class: "delivery-error" }, crmErrorInWords(error), technicalDetail(error)) : "–";
}

export function loading(view, what) {
  view.replaceChildren(h("p", { class: "loading", role: "status" }, `Loading ${what}…`));
}

/** A failure, said plainly where the content would be. */
export function showError(container, error) {
  showAlert(container, error instanceof ApiFailure ? error.message : `Something went wrong: ${error.message || error}`);
}

function showAlert(container, message) {
  container.replaceChildren(h("p", { class: "error", role: "alert" }, message));
}

/**
 * A refusal shown at the form's fields it names (`inputs`: the API's field name -> its input), each
 * marked invalid and described by its problem, the first one focused; the message goes to `container`.
 * Both call each field by the form's label for it, as the person filling it in knows it.
 * `fieldOf(failure)`: the field of a refusal whose body names none in `details`.
 */
export function showFieldErrors(container, inputs, error, fieldOf = () => null) {
  clearFieldErrors(inputs);
  if (!(error instanceof ApiFailure)) {
    showError(container, error);
    return;
  }
  const inFormWords = (text) => withFormLabels(text, inputs);
  showAlert(container, inFormWords(error.message));
  const named = error.details.filter((d) => d.location === "body").map((d) => [d.field, d.problem]);
  const fallback = fieldOf(error);
  if (!named.length && fallback) named.push([fallback, error.message.replace(`${fallback}: `, "")]);
  const marked = named.filter(([field]) => inputs[field]);
  for (const [field, problem] of marked) {
    const input = inputs[field];
    const note = h("p", { class: "field-error", id: `${input.id}-error` }, inFormWords(problem));
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", note.id);
    input.after(note);
  }
  if (marked.length) inputs[marked[0][0]].focus();
}

/**
 * An API message with each of the form's fields (`inputs`) it names called by the form's label: a name
 * leading a clause ("leftOn: …", "timestamp is …"), quoted ('to'), or camelCase or dotted anywhere (no
 * English word is). A field the form does not have keeps the API's name.
 */
function withFormLabels(text, inputs) {
  const names = Object.keys(inputs).map((field) => field.replaceAll(".", "\\.")); // the API's: letters and dots
  if (!names.length) return text;
  const named = new RegExp(`(?<![\\w.])(?:${names.join("|")})(?![\\w.])`, "g");
  return text.replace(named, (field, at) => {
    const asName = /[A-Z.]/.test(field) || /(^|; |')$/.test(text.slice(0, at));
    return (asName && labelText(inputs[field])) || field;
  });
}

/** What a field's label says, without the hint some labels add after it (in a span of their own). */
function labelText(input) {
  const label = input.labels?.[0];
  if (!label) return null;
  const own = [...label.childNodes].filter((node) => node.nodeType === Node.TEXT_NODE).map((node) => node.textContent);
  return own.join("").trim() || label.textContent.trim();
}

export function clearFieldErrors(inputs) {
  for (const input of Object.values(inputs)) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
    document.getElementById(`${input.id}-error`)?.remove();
  }
}

/** A confirmation in an accessible modal dialog; resolves true when confirmed. */
/** The punch types, as the API names them and as people read them. */
export const PUNCH_TYPES = [["in", "In"], ["out", "Out"], ["break_out", "Break out"], ["break_in", "Break in"], ["overtime_in", "Overtime in"], ["overtime_out", "Overtime out"]];

export function confirmAction(question, confirmLabel, reasonLabel = null, extra = null, { act = null, fields = {}, fieldOf } = {}) {
  // With `reasonLabel`, the person also says why (required): it resolves to the reason, or null if cancelled.
  // `extra`: more fields, after the reason; the caller reads them once it resolves.
  // `act(reason)`: the change confirmed, made while the dialog is open: a refusal is said in it, at the fields
  // it names (`fields`: the API's name -> its input, the reason's as `reason`; `fieldOf` as showFieldErrors
  // takes it), what was entered kept for another try; it closes once `act` is done.
  return new Promise((resolve) => {
    const reason = reasonLabel ? h("input", { id: "confirm-reason", required: true, maxlength: 200, autocomplete: "off" }) : null;
    const refusal = h("div", { class: "confirm-refusal" });
    const confirmButton = h("button", { type: "button", class: "danger", onclick: () => confirm() }, confirmLabel);
    const inputs = reason ? { reason, ...fields } : fields;
    const confirm = async () => {
      if (reason && !reason.value.trim()) {
        reason.setCustomValidity(`${reasonLabel} is required.`);
        reason.reportValidity();
        return;
      }
      if (act) {
        confirmButton.disabled = true;
        refusal.replaceChildren();
        clearFieldErrors(inputs);
        try {
          await act(reason ? reason.value.trim() : true);
        } catch (error) {
          showFieldErrors(refusal, inputs, error, fieldOf);
          return;
        } finally {
          confirmButton.disabled = false;
        }
      }
      dialog.close("confirm");
    };
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": "confirm-text" },
      h("p", { id: "confirm-text" }, question),
      reason ? h("p", { class: "field" }, h("label", { for: "confirm-reason" }, reasonLabel), reason) : null,
      extra,
      refusal,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => dialog.close("cancel") }, "Cancel"),
        confirmButton));
    reason?.addEventListener("input", () => reason.setCustomValidity(""));
    dialog.addEventListener("close", () => {
      dialog.remove();
      const confirmed = dialog.returnValue === "confirm";
      resolve(reason ? (confirmed ? reason.value.trim() : null) : confirmed);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A message that appears for a moment (and for screen readers). */
export function notify(message, kind = "info") {
  const area = document.getElementById("notices") || document.body.appendChild(h("div", { id: "notices", role: "status", "aria-live": "polite" }));
  const note = h("p", { class: `notice notice-${kind}` }, message);
  area.append(note);
  setTimeout(() => note.remove(), 6000);
}

// ---- the live feed ----

const PING_SECONDS = 300; // inside API Gateway's 10 idle minutes

/**
 * One WebSocket for the whole app (room `all`); pages listen for the event types they show. It
 * reconnects by itself (1 s, doubling to 30 s) with a fresh token, and shows its state in the header.
 */
class Feed {
  #socket = null;
  #listeners = new Set();
  #backoff = 1;
  #timer = null;
  #pinger = null;
  #running = false;

  start() {
    this.#running = true;
    this.#connect();
  }

  stop() {
    this.#running = false;
    clearTimeout(this.#timer);
    clearInterval(this.#pinger);
    this.#socket?.close(1000);
    this.#socket = null;
    this.#status("offline", "offline");
  }

  /** listener(message) for every feed message; returns the function that stops listening. */
  listen(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #connect() {
    if (!this.#running) return;
    this.#status("connecting", "connecting…");
    let socket;
    try {
      const grant = await api("/auth/token", { method: "POST" });
      socket = new WebSocket(`${grant.url}?token=${encodeURIComponent(grant.token)}`);
    } catch {
      this.#retry();
      return;
    }
    this.#socket = socket;
    socket.addEventListener("open", () => {
      this.#backoff = 1;
      this.#status("online", "connected");
      clearInterval(this.#pinger);
      this.#pinger = setInterval(() => socket.send(JSON.stringify({ action: "ping" })), PING_SECONDS * 1000);
    });
    socket.addEventListener("message", (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      for (const listener of this.#listeners) listener(message);
    });
    socket.addEventListener("close", () => {
      clearInterval(this.#pinger);
      if (this.#socket === socket) this.#retry();
    });
  }

  #retry() {
    if (!this.#running) return;
    this.#status("reconnecting", `reconnecting in ${this.#backoff} s`);
    this.#timer = setTimeout(() => this.#connect(), this.#backoff * 1000);
    this.#backoff = Math.min(this.#backoff * 2, 30);
  }

  #status(state, text) {
    const indicator = document.getElementById("feed-status");
    if (!indicator) return;
    indicator.dataset.state = state;
    indicator.querySelector("#feed-state").textContent = text;
  }
}

export const feed = new Feed();

/** A page's own stylesheet (`page-<name>.css` among the assets), added to the document once. */
export function useStyles(name) {
  if (!document.querySelector(`link[data-page-css="${name}"]`)) {
    document.head.append(h("link", { rel: "stylesheet", href: `/assets/${name}`, dataset: { pageCss: name } }));
  }
}

const NAMES_PER_REQUEST = 100; // GET /employee-names takes at most this many IDs
const GATHER_MS = 50; // the IDs asked for within this long are read in one request

/** The directory's names of the employees a page shows, read by ID as they appear on it (GET
 * /employee-names; never the whole directory) and kept for the page's life. Names are a nicety: while
 * the directory cannot be read, the IDs stay shown. */
export class Names {
  #known = new Map(); // userId -> name, or null: not in the directory when last asked
  #wanted = new Set();
  #asking = new Set();
  #read = null; // the read the wanted IDs wait for

  /** The name; null: not in the directory; undefined: not read (yet, or it could not be). */
  of(userId) {
    return this.#known.get(userId);
  }

  /** A name the page read elsewhere (null: not in the directory), from a reply that carries it. */
  remember(userId, name) {
    this.#known.set(userId, name ?? null);
  }

  /** Reads the names of these IDs not named yet, those asked for together within a moment in one read (an
   * ID the directory lacked is asked again: it may have been added since); true once a name changed. */
  learn(userIds) {
    for (const userId of userIds) {
      if (userId && this.#known.get(userId) == null && !this.#asking.has(userId)) this.#wanted.add(userId);
    }
    if (!this.#wanted.size) return Promise.resolve(false);
    this.#read ??= new Promise((resolve) => setTimeout(resolve, GATHER_MS)).then(() => this.#readWanted());
    return this.#read;
  }

  async #readWanted() {
    const userIds = [...this.#wanted];
    this.#wanted.clear();
    this.#read = null;
    userIds.forEach((userId) => this.#asking.add(userId));
    let changed = false;
    try {
      for (let start = 0; start < userIds.length; start += NAMES_PER_REQUEST) {
        const chunk = userIds.slice(start, start + NAMES_PER_REQUEST);
        const { names } = await api("/employee-names", { query: { userId: chunk.join(",") } });
        for (const userId of chunk) {
          const name = names[userId] ?? null;
          changed ||= name !== this.#known.get(userId);
          this.#known.set(userId, name);
        }
      }
    } catch {
      // not readable now: the IDs not read stay shown alone, and are asked again with the next punch
    } finally {
      userIds.forEach((userId) => this.#asking.delete(userId));
    }
    return changed;
  }
}

/** An employee as the pages show one: the name (or the ID) linked to their page, and under it the ID, or
 * that the ID is not in the directory (`name` null); only the ID when its name is not known (undefined). */
export function employeeCell(userId, name) {
  const href = `#/employees/${encodeURIComponent(userId)}`;
  if (name === undefined) return h("a", { class: "person", href, dataset: { employee: userId } }, userId);
  return h("span", { class: "employee", dataset: { employee: userId } },
    h("a", { class: "person", href }, name || userId),
    h("span", { class: "muted small" }, name ? userId : "not in the directory"));
}

/** Redraws the employee cells under `root` whose names `names` has learned since they were drawn. */
export function showNames(root, names) {
  for (const cell of root.querySelectorAll("[data-employee]")) {
    const userId = cell.dataset.employee;
    const name = names.of(userId);
    if (name !== undefined) cell.replaceWith(employeeCell(userId, name));
  }
}
