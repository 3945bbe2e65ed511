// "Void" on a punch's row (admins): for a punch that should not count (a test punch, one punched twice by
// mistake). The confirmation says what voiding does and asks why; the API takes it at once, and the live
// feed tells when the punch has left the CRM and the reports (punch.voided) or the CRM refused
// (punch.void_refused).
import { api, confirmAction, deliveryBadge, h, notify, session } from "./core.js";

/** The API's sync statuses a punch may be voided from. */
const VOIDABLE_STATUSES = new Set(["pending", "synced", "failed", "abandoned"]);

/** A listed punch's (API's syncStatus) delivery badge, with Void beside it while it may be voided. */
export function deliveryCell(punch, names, voiding) {
  return h("div", { class: "status-cell" }, deliveryBadge(punch.syncStatus),
    VOIDABLE_STATUSES.has(punch.syncStatus) ? voidButton(punch, names, () => voiding(punch)) : null);
}

/** A Void button for `punch` (a feed or list punch: logId, userId, type, localTime, deviceId), or null for
 * a key that may not void; `names` (a Names) names its employee, as far as the page has learnt it by the
 * click; `voiding(reason)` runs once the API took the void. */
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
  const question = `Void ${who}'s ${punch.type.replaceAll("_", " ")} punch of ${when} at ${punch.deviceId}? Its record is removed from the CRM and it leaves every report; it stays in the table with your reason, and the clock sending it again does not bring it back.`;
  const reason = await confirmAction(question, "Void", "Reason");
  if (!reason) return;
  try {
    await api(`/punches/${encodeURIComponent(punch.logId)}/void`, { method: "POST", body: { reason } });
  } catch (error) {
    notify(`The void failed: ${error.message}`, "error");
    return;
  }
  voiding(reason);
  notify(`Voiding ${who}'s punch: it leaves the CRM and the reports in a moment.`);
}
