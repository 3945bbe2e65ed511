// "Company default schedule" on the Employees page: the schedule whoever has none of their own follows, its
// versions from when until when, and for admins a form to set it from a day on, or remove it from a day on
// (then those without their own have no schedule: no day expected, none late). The days before keep theirs.
import { api, clearFieldErrors, confirmAction, h, notify, session, showError, showFieldErrors, table, today } from "./core.js";
import { NO_WORK_DAY, scheduleInputs } from "./schedule-fields.js";

const PATH = "/default-schedule";

/** The section; `changed()` runs once the default changed (the directory shows who follows it). */
export function defaultScheduleSection(changed) {
  const now = h("span", { class: "default-now" }, "loading…");
  const versions = h("div", { class: "default-versions", "aria-live": "polite" });
  const editor = h("div", { class: "default-editor" });
  const section = h("details", { class: "card default-schedule" },
    h("summary", {}, "Company default schedule: ", now),
    h("p", { class: "muted" }, "Whoever has no schedule of their own follows it: the days they are expected at work, and when they are late or leave early."),
    versions, editor);

  async function load() {
    try {
      show(await api(PATH));
    } catch (error) {
      now.textContent = "not read";
      showError(versions, error);
    }
  }

  function show(view) {
    now.textContent = holding(view)?.label ?? "none";
    versions.replaceChildren(table({
      caption: "The default's versions, the latest first",
      columns: [
        { label: "From", cell: (v) => v.effectiveFrom ?? "always" },
        { label: "Until", cell: (v) => v.until ?? "–" },
        { label: "Schedule", cell: (v) => v.schedule?.label ?? "none (removed)" },
      ],
      rows: [{ schedule: view.schedule, effectiveFrom: view.effectiveFrom, until: null }, ...view.history].filter((v) => v.schedule || v.effectiveFrom),
      key: (v) => v.effectiveFrom ?? "always",
      empty: "The company has no default schedule: whoever has none of their own is expected on no day.",
    }));
    // The form is made once, from the default holding today: after a save it keeps what the admin entered.
    if (session.isAdmin && !editor.firstChild) editor.append(form(view));
  }

  /** Setting it, or removing it, from the day under "Applies from". */
  function form(view) {
    const scheduled = scheduleInputs("default", holding(view));
    const result = h("div", { class: "default-result", "aria-live": "polite" });
    const fields = { ...scheduled.inputs, effectiveFrom: scheduled.from };
    const remove = h("button", { type: "button", class: "secondary", onclick: removeFrom }, "Remove from that day");

    async function save(event) {
      event.preventDefault();
      scheduled.refreshFrom();
      if (!node.reportValidity()) return;
      const asked = scheduled.asked();
      if (!asked) return result.replaceChildren(h("p", { class: "error", role: "alert" }, NO_WORK_DAY));
      await send(() => api(PATH, { method: "PUT", body: { ...asked, effectiveFrom: scheduled.from.value } }), "set");
    }

    async function removeFrom() {
      scheduled.refreshFrom();
      const day = scheduled.from.value;
      const question = `Remove the company's default schedule from ${day}? From then, whoever has no schedule of their own has none: no day expected, none late. The days before keep it.`;
      if (!(await confirmAction(question, "Remove default"))) return;
      await send(() => api(PATH, { method: "DELETE", query: { effectiveFrom: day } }), "removed");
    }

    async function send(request, done) {
      result.replaceChildren();
      clearFieldErrors(fields);
      try {
        show(await request());
        notify(`Default schedule ${done} from ${scheduled.from.value}.`);
        changed();
      } catch (error) {
        // The rules the schema cannot state (the zone must exist) come back without details.
        showFieldErrors(result, fields, error, (failure) => (failure.error === "invalid_time_zone" ? "timeZone" : null));
      }
    }

    const node = h("form", { class: "default-form", "aria-label": "Change the default schedule", onsubmit: save },
      scheduled.fieldset, scheduled.fromField,
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Save default schedule"), remove),
      result);
    return node;
  }

  load();
  return section;
}

/** The version holding today (in the company's zone), of the latest and the earlier ones. */
function holding(view) {
  const day = today();
  const all = [{ schedule: view.schedule, effectiveFrom: view.effectiveFrom }, ...view.history];
  return all.find((v) => !v.effectiveFrom || v.effectiveFrom <= day)?.schedule ?? null;
}
