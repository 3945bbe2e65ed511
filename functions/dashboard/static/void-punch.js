// "Void" on a punch's row (admins): for a punch that should not count (a test punch, one punched twice by
// mistake). The confirmation says what voiding does and asks why; the API takes it at once, and the live
// feed tells when the punch has left the CRM and the reports (punch.voided) or the CRM refused
// (punch.void_refused). A punch of the wrong type is voided with the type it should have had, and comes back
// with it.
import { PUNCH_TYPES, api, confirmAction, deliveryBadge, feed, h, notify, session } from "./core.js";

/** The API's refusals of the type a punch is to be added again with. */
const CORRECTION_REFUSALS = new Set(["correction_duplicate", "invalid_correction"]);

/** The feed's word that a void is over: the punch left the CRM, or the CRM kept it. */
const VOID_OUTCOMES = new Set(["punch.voided", "punch.void_refused"]);

/** The API's sync statuses a punch may be voided from. */
const VOIDABLE_STATUSES = new Set(["pending", "synced", "failed", "abandoned"]);

/** A listed punch's (API's syncStatus) delivery badge, with Void beside it while it may be voided. */
export function deliveryCell(punch, names, voiding) {
  return h("div", { class: "status-cell" }, deliveryBadge(punch.syncStatus),
    VOIDABLE_STATUSES.has(punch.syncStatus) ? voidButton(punch, names, () => voiding(punch)) : null);
}

/** A Void button for `punch` (a feed or list punch: logId, userId, type, localTime, deviceId), or null for
 * a key that may not void; `names` (a Names) names its employee, as far as the page has learnt it by the
 * click; `voiding(reason)` runs once the API took the void, unless the feed told its outcome first. */
export function voidButton(punch, names, voiding) {
  if (!session.isAdmin) return null; // the API refuses anyway; read keys see no controls
  const whoNow = () => names.of(punch.userId) || punch.userId;
  const at = (punch.localTime || "").slice(11, 19);
  return h("button", {
    type: "button", class: "secondary small void", "aria-label": `Void ${whoNow()}'s punch at ${at}`,
    onclick: () => voidPunch(punch, whoNow(), voiding),
  }, "Void");
}

async function voidPunch(punch, who, voiding) {
  const when = (punch.localTime || "").replace("T", " ");
  const question = `Void ${who}'s ${words(punch.type)} punch of ${when} at ${punch.deviceId}? Its record is removed from the CRM and it leaves every report; it stays in the table with your reason, and the clock sending it again does not bring it back.`;
  const correction = correctionField(punch.type);
  const correctedType = () => correction.select.value;
  // Sent from the dialog, which says a refusal in words, at the field it concerns, and stays open for
  // another try (a correction the punches beside it do not allow, say: void it alone).
  // The void's outcome can come on the feed before the API's reply reaches the page (a CRM that refuses at
  // once): the page has shown it then, and must not go back to "being voided".
  let answered = false;
  const stopListening = feed.listen((message) => {
    if (VOID_OUTCOMES.has(message.type) && message.punch?.logId === punch.logId) answered = true;
  });
  const send = (reason) => {
    answered = false;
    return api(`/punches/${encodeURIComponent(punch.logId)}/void`, {
      method: "POST", body: correctedType() ? { reason, correctedType: correctedType() } : { reason },
    });
  };
  const reason = await confirmAction(question, "Void", "Reason", correction.field, {
    act: send,
    fields: { correctedType: correction.select },
    fieldOf: (failure) => (CORRECTION_REFUSALS.has(failure.error) ? "correctedType" : null),
  }).finally(stopListening);
  if (!reason || answered) return;
  voiding(reason);
  const comesBack = correctedType() ? `, and comes back as ${words(correctedType())}` : "";
  notify(`Voiding ${who}'s punch: it leaves the CRM and the reports in a moment${comesBack}.`);
}

const words = (type) => type.replaceAll("_", " ");

/** "Add it again as": for a punch of the wrong type (an out the clock recorded as an in), the type it should
 * have had; the worker adds the same punch with it once the void is done. */
function correctionField(type) {
  const select = h("select", { id: "confirm-correction" },
    h("option", { value: "" }, "Nothing: only void it"),
    PUNCH_TYPES.filter(([value]) => value !== type).map(([value, label]) => h("option", { value }, label)));
  const field = h("p", { class: "field" },
    h("label", { for: "confirm-correction" }, "Add it again as", h("span", { class: "muted small" }, " (for a punch of the wrong type)")), select);
  return { field, select };
}
