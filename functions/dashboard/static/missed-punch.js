// "Add a missed punch" on an employee's page (admins): a punch the clock did not record, added by hand at
// one of the clocks, at that clock's wall-clock time. It is stored, deduplicated and delivered as any other.
import { ApiFailure, PUNCH_TYPES, api, clearFieldErrors, h, notify, session, showFieldErrors, today, todayUntilPicked, zone } from "./core.js";

// The punch each anomaly of a work day lacks, for the "Add" in its row.
const LACKING = { "missing out": "out", "missing in": "in", "break not closed": "break_in" };

/** The punch types a work day lacks, by its anomalies. */
export const lackingPunches = (row) => (row.anomalies || []).map((name) => LACKING[name]).filter(Boolean);

/** The section and `prefill(date, type)`, which fills the form for a day's missing punch, at the clock of
 * that day's last punch, and goes to the time; null for a key that may not add punches. `added()` runs after
 * each punch added. */
export function missedPunchSection(userId, lastDeviceId, added) {
  if (!session.isAdmin) return null; // the API refuses anyway; read keys see no controls
  const clock = h("select", { id: "missed-clock", name: "deviceId", required: true });
  const date = h("input", { id: "missed-date", name: "date", type: "date", required: true, value: today(), max: today() });
  const time = h("input", { id: "missed-time", name: "time", type: "time", required: true, step: 60, "aria-describedby": "missed-zone" });
  const type = h("select", { id: "missed-type", name: "type", required: true }, PUNCH_TYPES.map(([value, label]) => h("option", { value }, label)));
  const zoneNote = h("small", { class: "muted", id: "missed-zone" });
  const result = h("div", { class: "missed-result", "aria-live": "polite" });
  const button = h("button", { type: "submit" }, "Add punch");
  const fields = { deviceId: clock, timestamp: time, type };
  let clocks = [];
  let preferred = lastDeviceId; // the clock chosen for the admin until they choose one
  let chosenByHand = 0; // changes of clock by the admin: a day's clock read after one is not forced on them

  // The date is the clock's too: today in its zone at most, and by default until the admin picks a day.
  const dateFollows = todayUntilPicked(date);
  function showZone() {
    const chosen = clocks.find((c) => c.deviceId === clock.value);
    const clockZone = chosen?.timeZone || zone;
    zoneNote.textContent = `the clock's time${chosen ? `, ${clockZone}` : ""}`;
    date.max = today(clockZone);
    dateFollows.follow(clockZone);
  }
  clock.addEventListener("change", () => { chosenByHand += 1; showZone(); });

  function choose(deviceId) {
    preferred = deviceId;
    if (!clocks.some((c) => c.deviceId === deviceId)) return; // not read yet (then on reading), or disabled
    clock.value = deviceId;
    showZone();
  }

  async function loadClocks() {
    try {
      clocks = (await api("/devices")).devices.filter((d) => d.enabled);
    } catch (error) {
      showFieldErrors(result, fields, error);
      return;
    }
    clock.replaceChildren(...clocks.map((c) => h("option", { value: c.deviceId }, c.name ? `${c.name} (${c.deviceId})` : c.deviceId)));
    if (clocks.some((c) => c.deviceId === preferred)) clock.value = preferred;
    button.disabled = !clocks.length;
    if (!clocks.length) result.replaceChildren(h("p", { class: "muted" }, "No clock is registered and enabled: register one on the Devices page first."));
    showZone();
  }

  async function submit(event) {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const body = { deviceId: clock.value, timestamp: `${date.value}T${time.value}:00`, type: type.value };
    const said = `${type.selectedOptions[0].textContent} at ${time.value} on ${date.value} at ${clock.value}`;
    button.disabled = true;
    result.replaceChildren();
    clearFieldErrors(fields);
    try {
      await api(`/employees/${encodeURIComponent(userId)}/punches`, { method: "POST", body });
      result.replaceChildren(h("p", { class: "ok" }, `Added: ${said}. It goes to the HR system like any punch.`));
      notify(`Punch added for ${userId}: ${said}.`);
      added();
    } catch (error) {
      const duplicate = error instanceof ApiFailure && error.status === 409 ? error.body : null;
      if (duplicate?.duplicateKind === "near_punch") {
        // Not this punch, but another of theirs too close to it: two punches that close count as one.
        result.replaceChildren(h("p", { class: "error", role: "alert" },
          `Not added: ${userId} has another punch less than ${duplicate.windowSeconds} s from this one (${said}), and punches that close count as one. Check the day's punches: one of the wrong type is voided with the type it should have had.`));
      } else if (duplicate) {
        result.replaceChildren(h("p", { class: "ok" }, `Already recorded: ${userId} has this punch (${said}); nothing was added.`));
      } else {
        // A time that cannot be taken (too far from now) comes back without details.
        showFieldErrors(result, fields, error, (failure) => (failure.error === "invalid_timestamp" ? "timestamp" : null));
      }
    } finally {
      button.disabled = !clocks.length;
    }
  }

  const form = h("form", { class: "card missed-form", "aria-labelledby": "missed-title", onsubmit: submit },
    h("div", { class: "field" }, h("label", { for: "missed-clock" }, "Clock"), clock),
    h("div", { class: "field" }, h("label", { for: "missed-date" }, "Date"), date),
    h("div", { class: "field" }, h("label", { for: "missed-time" }, "Time"), time, zoneNote),
    h("div", { class: "field" }, h("label", { for: "missed-type" }, "Type"), type),
    h("div", { class: "actions" }, button),
    result);
  loadClocks();
  const section = h("section", { class: "admin-only missed-section", "aria-labelledby": "missed-title" },
    h("h2", { id: "missed-title" }, "Add a missed punch"),
    h("p", { class: "muted" }, "For a punch the clock did not record, e.g. a forgotten check-out. It is marked as added by hand, and a punch the clock has already is not added twice."),
    form);

  async function prefill(day, kind) {
    dateFollows.pick(day);
    type.value = kind;
    result.replaceChildren();
    section.scrollIntoView({ block: "center" });
    time.focus();
    // The time is read as the chosen clock shows it: the clock the employee used that day, unless the admin
    // chooses another meanwhile. Without it (the read failed), the form keeps its clock, which is in view.
    const asked = chosenByHand;
    const deviceId = await clockOfDay(day);
    if (deviceId && asked === chosenByHand && date.value === day) choose(deviceId);
  }

  async function clockOfDay(day) {
    try {
      const { punches } = await api("/reports/workday-punches", { query: { userId, date: day } });
      return punches.at(-1)?.deviceId ?? null;
    } catch {
      return null;
    }
  }
  return { section, prefill };
}
