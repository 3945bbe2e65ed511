// The punches admins voided, latest first, on the Deliveries page: who voided each and why, the type a punch
// of the wrong type was added again with, and how each void went (the latest entry of its history). For
// reviewing the corrections made to the punches; read again when the feed tells of a void done or refused.
import {
  Names, api, deliveryBadge, employeeCell, feed, formatInstant, h, loading, showError, showNames, table, technicalDetail, voidNoteInWords,
} from "./core.js";

const LISTED = 50;
const EMPTY = "No punch has been voided.";
const words = (type) => (type ? type.replaceAll("_", " ") : "–");

/** The section ({ section, stop }): its list, kept up to date from the live feed until `stop()`. */
export function voidedPunches() {
  const list = h("div", { class: "voided-list" });
  const section = h("section", { "aria-labelledby": "voided-title" },
    h("h2", { id: "voided-title" }, "Voided punches"),
    h("p", { class: "muted" }, `The ${LISTED} latest punches admins voided, for review: why each was voided, by whom, and how the void went. A punch of the wrong type shows the type it was added again with.`),
    list);
  const names = new Names();
  let asked = 0;
  let alive = true;

  const columns = [
    { label: "Employee", cell: (v) => employeeCell(v.userId, names.of(v.userId)) },
    { label: "Punch", cell: (v) => `${words(v.type)}, ${formatInstant(v.punchTime)}` },
    { label: "Device", cell: (v) => h("a", { href: `#/devices/${encodeURIComponent(v.deviceId)}` }, v.deviceId) },
    { label: "Status", cell: (v) => deliveryBadge(v.syncStatus) },
    { label: "Voided by", cell: (v) => v.voidedBy || "–" },
    { label: "Reason", cell: (v) => v.reason || "–" },
    { label: "Added again as", cell: (v) => words(v.correctedType) },
    { label: "How it went", cell: (v) => outcomeCell(v.outcome) },
  ];

  async function load() {
    const ticket = ++asked;
    try {
      const { voids } = await api("/deliveries/voids", { query: { limit: LISTED } });
      if (!alive || ticket !== asked) return;
      list.replaceChildren(table({
        caption: `Voided punches, latest first (${voids.length})`, columns, rows: voids, empty: EMPTY, key: (v) => v.logId,
      }));
      if (await names.learn(voids.map((v) => v.userId)) && alive) showNames(list, names);
    } catch (error) {
      if (alive && ticket === asked) showError(list, error);
    }
  }

  const stop = feed.listen((message) => {
    if (message.type === "punch.voided" || message.type === "punch.void_refused") load();
  });
  loading(list, "the voided punches");
  load();
  return { section, stop: () => { alive = false; stop(); } };
}

/** How the void went in words, the note as recorded a disclosure away for admins. */
function outcomeCell(note) {
  const said = voidNoteInWords(note);
  return h("div", { class: "void-outcome" }, said || "–", technicalDetail(note, said));
}
