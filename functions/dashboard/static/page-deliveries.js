// The deliveries page: punches by delivery status, the dead-letter queue (by punch time, the latest first)
// with each punch's last error, and, for admins, redrives (one or all, confirmed first) whose outcome shows
// live from the feed, and abandons (one at a time, confirmed first) of punches the CRM will never take; then
// the punches admins voided, for review.
// Route: #/deliveries.
import {
  DELIVERY_STATE, Names, api, badge, confirmAction, crmErrorInWords, deliveryErrorView, employeeCell, feed, formatClock, formatInstant,
  h, loading, readWhileListening, showNames, notify, session, showError, table, tableRow, useStyles,
} from "./core.js";
import { voidedPunches } from "./voided-punches.js";

const REDRIVE = "/deliveries/dead-letters/redrive";
const ABANDON = "/deliveries/dead-letters/abandon";
const COUNTS = [
  ["pending", "pending", "stored, on the way to the CRM"],
  ["synced", "delivered", "taken by the CRM"],
  ["failed", "dead-lettered", "given up on, waiting for a redrive"],
  ["abandoned", "abandoned", "dead-lettered, then abandoned by an admin"],
  ["voided", "voided", "voided by an admin: out of the CRM and the reports"],
];
const COUNTS_EVERY_MS = 3_000; // counting reads the whole status index: at most this often from the feed
const EMPTY = "No dead letters: every punch was delivered or is on its way.";
// In the dead-letter queue, as far as the page knows: a redrive or an abandon may take it.
const ACTIONABLE = new Set(["dead_lettered", "pending"]);

export async function render(view) {
  useStyles("page-deliveries.css");
  const counts = h("div", { class: "delivery-counts", "aria-live": "polite" });
  const list = h("div", { class: "dead-letter-list" });
  const progress = h("p", { class: "redrive-progress", role: "status", "aria-live": "polite", hidden: true });
  const redriveAll = h("button", { type: "button", class: "danger admin-only", disabled: true }, "Redrive all");
  const refresh = h("button", { type: "button", class: "secondary" }, "Refresh");
  view.replaceChildren(
    h("h1", { id: "page-title" }, "Deliveries"),
    h("p", { class: "muted" }, "Every punch on its way to the CRM, and those it did not take: they wait in the dead-letter queue until an admin redrives them, or abandons one the CRM will never take."),
    h("h2", { id: "counts-title" }, "Punches by delivery status"),
    counts,
    h("div", { class: "dead-letter-head" },
      h("h2", { id: "dead-letters-title" }, "Dead letters"),
      h("div", { class: "dead-letter-actions" }, refresh, redriveAll)),
    progress,
    list);
  const voided = voidedPunches();
  view.append(voided.section);

  const letters = new Map(); // logId -> the dead letter, with the nodes that change live
  const redriven = new Set(); // logIds redriven from this page, followed until delivered or dead again
  let countsTimer = null;
  let countsAt = 0;
  let alive = true;

  // ---- counts ----

  async function loadCounts() {
    countsAt = Date.now();
    try {
      const overview = await api("/deliveries");
      if (alive) showCounts(counts, overview);
    } catch (error) {
      if (alive) showError(counts, error);
    }
  }

  /** Counts again soon: at once if the last count is old enough, else when it is. */
  function countsSoon() {
    if (countsTimer) return;
    const wait = Math.max(0, countsAt + COUNTS_EVERY_MS - Date.now());
    countsTimer = setTimeout(() => { countsTimer = null; loadCounts(); }, wait);
  }

  // ---- the dead letters ----

  const names = new Names(); // of the employees listed
  const columns = [
    { label: "Log ID", cell: (l) => h("code", { class: "log-id", title: l.logId }, shortId(l.logId)) },
    { label: "Employee", cell: (l) => l.userId ? employeeCell(l.userId, names.of(l.userId)) : "–" },
    { label: "Device", cell: (l) => l.deviceId ? h("a", { href: `#/devices/${encodeURIComponent(l.deviceId)}` }, l.deviceId) : "–" },
    { label: "Punch time", cell: (l) => formatInstant(l.punchTime) },
    { label: "Attempts", cell: (l) => (l.attemptsNode = h("span", {}, String(l.attempts))) },
    { label: "Last error", cell: (l) => (l.errorNode = h("div", { class: "last-error" }, deadLetterError(l.lastError, l))) },
    { label: "Status", cell: (l) => (l.statusNode = h("span", { class: "letter-status" }, statusView(l))) },
  ];
  if (session.isAdmin) {
    const action = (l, verb, onclick) => h("button", {
      type: "button", class: "secondary admin-only", "aria-label": `${verb} the punch of ${l.userId || l.logId}`,
      disabled: !ACTIONABLE.has(l.state), onclick: () => onclick(l),
    }, verb);
    columns.push({
      label: "Action",
      cell: (l) => {
        l.buttons = [action(l, "Redrive", redriveOne), action(l, "Abandon", abandonOne)];
        return h("div", { class: "letter-actions" }, l.buttons);
      },
    });
  }

  function showList() {
    const rows = [...letters.values()].sort(latestPunchFirst);
    list.replaceChildren(table({ caption: captionText(), columns, rows, empty: EMPTY, key: (l) => l.logId }));
    updateRedriveAll();
  }

  /** How many are listed, and once some were redriven, abandoned or delivered, how many still wait. */
  function captionText() {
    const rows = [...letters.values()];
    const waiting = rows.filter((l) => l.state === "dead_lettered").length;
    const counted = waiting === rows.length ? `${rows.length}` : `${rows.length} listed, ${waiting} still dead-lettered`;
    return `Dead-lettered punches (${counted}), by punch time, the latest first`;
  }

  function updateCaption() {
    const caption = list.querySelector("caption");
    if (caption) caption.textContent = captionText();
  }

  // What the feed tells while the list is read (a punch dead-lettered, delivered, abandoned) is told again
  // over the reply, which was read before it happened.
  const reading = readWhileListening();

  async function loadList() {
    loading(list, "the dead letters");
    redriveAll.disabled = true;
    try {
      const read = await reading.read(async () => {
        const reply = await api("/deliveries/dead-letters");
        await names.learn(reply.deadLetters.map((letter) => letter.userId));
        return reply;
      });
      if (!alive || !read) return;
      letters.clear();
      for (const letter of read.reply.deadLetters) {
        letters.set(letter.logId, { ...letter, state: letter.syncStatus ? DELIVERY_STATE[letter.syncStatus] : "not_stored" });
      }
      showList();
      for (const message of read.heard) told(message);
    } catch (error) {
      if (alive) showError(list, error);
    }
  }

  function setState(letter, state, detail) {
    letter.state = state;
    letter.detail = detail;
    letter.statusNode?.replaceChildren(statusView(letter));
    for (const button of letter.buttons ?? []) button.disabled = !ACTIONABLE.has(state);
    updateRedriveAll();
    updateCaption();
  }

  function updateRedriveAll() {
    redriveAll.disabled = ![...letters.values()].some((l) => l.state === "dead_lettered");
  }

  /** A punch dead-lettered while the page is open: a row of its own, from the event. */
  function addFromEvent(message) {
    const punch = message.punch;
    const letter = {
      logId: punch.logId, userId: punch.userId, deviceId: punch.deviceId, punchTime: punch.punchTime,
      attempts: punch.attempts, lastError: message.error, syncStatus: punch.syncStatus, state: "dead_lettered",
      deadLetteredAt: message.at,
    };
    letters.set(letter.logId, letter);
    const body = list.querySelector("tbody");
    // In its place by punch time, not on top: a punch dies after its attempts, or comes in late from its clock.
    const before = body && [...body.rows].find((row) => latestPunchFirst(letter, letters.get(row.dataset.key)) < 0);
    if (body) body.insertBefore(tableRow(columns, letter, (l) => l.logId), before ?? null);
    else showList();
    updateCaption();
    updateRedriveAll();
    names.learn([letter.userId]).then((changed) => { if (changed && alive) showNames(list, names); });
  }

  // ---- redrives ----

  /** "the punch of Anna Berg (EMP001) at …", as the questions name a dead letter. */
  function whose(letter) {
    const name = letter.userId && names.of(letter.userId);
    const person = name ? `${name} (${letter.userId})` : letter.userId;
    return letter.userId ? `the punch of ${person} at ${formatInstant(letter.punchTime)}` : `punch ${letter.logId}`;
  }

  async function redriveOne(letter) {
    const who = whose(letter);
    const cause = letter.lastError ? ` Its last attempt failed: ${crmErrorInWords(letter.lastError)}. Unless its cause is fixed (in the CRM, or the punch's data), it is refused again.` : "";
    const question = `Redrive ${who}? It goes back to the queue, and the CRM is tried again as for a new punch.${cause}`;
    if (!(await confirmAction(question, "Redrive"))) return;
    await redrive({ logIds: [letter.logId] }, letter.buttons);
  }

  async function redriveEvery() {
    const waiting = [...letters.values()].filter((l) => l.state === "dead_lettered");
    const question = `Redrive every dead-lettered punch (${waiting.length} listed here)? Each goes back to the queue, and the CRM is tried again as for a new punch.${lastAnswers(waiting)}`;
    if (!(await confirmAction(question, "Redrive all"))) return;
    await redrive({ all: true }, [redriveAll]);
  }

  /** The admin's action on dead letters: the API's answer, or null when it failed (said, buttons back). */
  async function post(path, body, buttons, what) {
    for (const button of buttons) button.disabled = true;
    try {
      const result = await api(path, { method: "POST", body });
      return alive ? result : null;
    } catch (error) {
      notify(`The ${what} failed: ${error.message}`, "error");
      for (const button of buttons) button.disabled = false;
      updateRedriveAll();
      return null;
    }
  }

  function notInQueue(result) {
    for (const logId of result.notInDlq) {
      const letter = letters.get(logId);
      if (letter) setState(letter, letter.state, "not in the dead-letter queue (yet)");
    }
  }

  async function redrive(body, buttons) {
    const result = await post(REDRIVE, body, buttons, "redrive");
    if (!result) return;
    for (const logId of result.redriven) {
      redriven.add(logId);
      const letter = letters.get(logId);
      // The feed may have told of its delivery before this answer came: that stays.
      if (letter && letter.state !== "delivered") setState(letter, "redriven");
    }
    notInQueue(result);
    notify(redriveSummary(result), result.redriven.length ? "info" : "error");
    showProgress();
    loadCounts();
  }

  async function abandonOne(letter) {
    const cause = letter.lastError ? ` Its last attempt failed: ${crmErrorInWords(letter.lastError)}.` : "";
    const question = `Abandon ${whose(letter)}? It leaves the dead-letter queue for good and the CRM never gets it; it stays in the table, marked abandoned, and still counts in the reports. For a punch the CRM will never take, such as one of a badge nobody holds.${cause}`;
    if (!(await confirmAction(question, "Abandon"))) return;
    const result = await post(ABANDON, { logIds: [letter.logId] }, letter.buttons, "abandon");
    if (!result) return;
    for (const logId of result.abandoned) {
      const abandoned = letters.get(logId);
      if (abandoned) setState(abandoned, "abandoned");
    }
    notInQueue(result);
    const done = result.abandoned.length;
    notify(done ? `Abandoned: ${done} punch${done === 1 ? "" : "es"}; the CRM will not get ${done === 1 ? "it" : "them"}.` : "Nothing was abandoned: not in the dead-letter queue.", done ? "info" : "error");
    loadCounts();
  }

  function showProgress() {
    if (!redriven.size) return;
    const states = [...redriven].map((logId) => letters.get(logId)?.state);
    const delivered = states.filter((s) => s === "delivered").length;
    const failed = states.filter((s) => s === "dead_lettered" || s === "failed").length;
    const waiting = redriven.size - delivered - failed;
    progress.hidden = false;
    progress.textContent = `Redriven from this page: ${redriven.size} · delivered: ${delivered} · failed again: ${failed} · on the way: ${waiting}`;
  }

  // ---- the feed: what happens to the punches shown ----

  /** A feed message about a punch: a row for one dead-lettered, the state of one listed. */
  function told(message) {
    const punch = message.punch;
    if (!punch || !message.type?.startsWith("punch.") || message.type === "punch.accepted") return;
    const letter = letters.get(punch.logId);
    if (message.type === "punch.dead_lettered") {
      if (letter) {
        letter.attempts = punch.attempts;
        letter.lastError = message.error;
        letter.attemptsNode?.replaceChildren(String(punch.attempts));
        letter.errorNode?.replaceChildren(deadLetterError(message.error, letter));
        // Redriven and refused again: the cause (the last error) wants fixing before another redrive.
        setState(letter, "dead_lettered", redriven.has(punch.logId) ? "again: fix the cause of the last error first" : undefined);
      } else {
        addFromEvent(message);
      }
    } else if (letter && message.type === "punch.delivered") {
      setState(letter, "delivered");
    } else if (letter && message.type === "punch.abandoned") {
      setState(letter, "abandoned"); // by another admin, or this page's own abandon told again
    } else if (letter && message.type === "punch.failed" && !message.final) {
      letter.attemptsNode?.replaceChildren(String(punch.attempts));
      letter.errorNode?.replaceChildren(deliveryErrorView(message.error));
      setState(letter, "failed", `attempt ${message.attempt}, retrying`);
    }
    if (letter && redriven.has(punch.logId)) showProgress();
    // Counted again for the punches shown here and for new dead letters only, not for every punch
    if (letter || message.type === "punch.dead_lettered" || message.type === "punch.abandoned") countsSoon();
  }

  const stop = feed.listen((message) => {
    reading.note(message);
    told(message);
  });

  refresh.addEventListener("click", () => {
    redriven.clear();
    progress.hidden = true;
    loadCounts();
    loadList();
  });
  redriveAll.addEventListener("click", redriveEvery);
  loading(counts, "the delivery counts");
  await Promise.all([loadCounts(), loadList()]);
  return () => {
    alive = false;
    stop();
    voided.stop();
    clearTimeout(countsTimer);
  };
}

function showCounts(container, overview) {
  const stats = h("ul", { class: "stats delivery-stats", "aria-labelledby": "counts-title" },
    COUNTS.map(([status, label, meaning]) => h("li", { class: `stat-${status}` },
      h("strong", {}, String(overview.counts[status])), h("span", {}, label),
      h("span", { class: "muted stat-meaning" }, meaning))));
  const oldest = overview.oldestPending;
  container.replaceChildren(stats,
    h("p", { class: "delivery-facts" },
      h("span", { title: "SQS's approximate count of messages; a punch sent to the queue twice has two, and is listed once below" },
        `In the dead-letter queue: ${overview.deadLetters} message${overview.deadLetters === 1 ? "" : "s"}`),
      h("span", {}, oldest ? `Oldest pending: received ${formatInstant(oldest.receivedAt)}` : "Nothing pending"),
      h("span", {}, `Counted at ${formatClock(new Date().toISOString())}`)));
}

/** A dead letter's last error; none, for a stored punch, says why there is none: the worker took its message
 * and never recorded an outcome (it failed to start, ran out of time or stopped before the CRM answered), as
 * many times as the queue allows. The reason is in the worker's logs, not on the punch. */
function deadLetterError(error, letter) {
  if (error || !letter.userId) return deliveryErrorView(error);
  return h("span", { class: "muted no-outcome" },
    "None recorded: the worker never finished an attempt (it failed to start, ran out of time or stopped before the CRM answered). Its logs say why.");
}

function statusView(letter) {
  const word = letter.state === "not_stored" ? badge("not_stored") : badge(letter.state);
  return letter.detail ? h("span", {}, word, " ", h("span", { class: "muted" }, letter.detail)) : word;
}

/** The latest punch first (letters of no stored punch last); of punches of the same time, the one dead-lettered
 * last first, as the API lists them, so a reload keeps the order the feed made. */
function latestPunchFirst(a, b) {
  return moment(b.punchTime) - moment(a.punchTime) || moment(b.deadLetteredAt) - moment(a.deadLetteredAt);
}

function moment(iso) {
  return Date.parse(iso) || 0; // none: before any other
}

function shortId(logId) {
  return logId.length > 10 ? `${logId.slice(0, 8)}…` : logId;
}

const ANSWERS_QUOTED = 3;
const ANSWER_LENGTH = 160;

/** Why the last attempts for `letters` failed, in words, the commonest first, as the redrive-all question
 * quotes it. */
function lastAnswers(letters) {
  const counts = new Map();
  for (const { lastError } of letters) {
    if (!lastError) continue;
    const words = crmErrorInWords(lastError);
    counts.set(words, (counts.get(words) ?? 0) + 1);
  }
  if (!counts.size) return "";
  const ranked = [...counts].sort((a, b) => b[1] - a[1]);
  const quoted = ranked.slice(0, ANSWERS_QUOTED).map(([answer, count]) => {
    const text = answer.length > ANSWER_LENGTH ? `${answer.slice(0, ANSWER_LENGTH)}…` : answer;
    return `“${text}” (${count} punch${count === 1 ? "" : "es"})`;
  });
  const others = ranked.length - quoted.length;
  if (others) quoted.push(`${others} other reason${others === 1 ? "" : "s"}`);
  return ` Why their last attempts failed: ${quoted.join("; ")}. Unless their causes are fixed (in the CRM, or the punches' data), those punches are refused again.`;
}

function redriveSummary(result) {
  const done = result.redriven.length;
  const parts = [done ? `Redriven: ${done} punch${done === 1 ? "" : "es"}, on the way to the CRM` : "Nothing was redriven"];
  if (result.notInDlq.length) parts.push(`not in the dead-letter queue: ${result.notInDlq.length}`);
  return parts.join("; ") + ".";
}
