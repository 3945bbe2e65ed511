// A schedule's inputs and the day it applies from, as the forms that change one show them: an employee's own
// schedule (page-employees.js) and the company's default (default-schedule.js).

import { h, today, todayUntilPicked, zone } from "./core.js";

export const DAYS = [["mon", "Mon"], ["tue", "Tue"], ["wed", "Wed"], ["thu", "Thu"], ["fri", "Fri"], ["sat", "Sat"], ["sun", "Sun"]];

/** The zone names this browser knows, for suggestions (any IANA name or offset is accepted). */
function zoneNames() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return [];
  }
}

/**
 * The inputs of `schedule` (null: a new one, Monday to Friday 09:00-17:00 in the company's zone), their ids
 * starting with `prefix`, and of the day it applies from: today in the schedule's zone until the admin picks
 * one, and today's again when the form is saved (a page left open overnight).
 */
export function scheduleInputs(prefix, schedule) {
  const days = DAYS.map(([value, label]) => {
    const box = h("input", { id: `${prefix}-day-${value}`, type: "checkbox", value, checked: schedule ? schedule.days.includes(value) : !["sat", "sun"].includes(value) });
    return h("span", { class: "day" }, box, h("label", { for: `${prefix}-day-${value}` }, label));
  });
  const start = h("input", { id: `${prefix}-start`, type: "time", required: true, value: schedule?.start || "09:00" });
  const end = h("input", { id: `${prefix}-end`, type: "time", required: true, value: schedule?.end || "17:00" });
  const grace = h("input", { id: `${prefix}-grace`, type: "number", min: 0, max: 240, step: 1, required: true, value: schedule?.graceMinutes ?? 5 });
  const timeZone = h("input", { id: `${prefix}-zone`, required: true, maxlength: 64, value: schedule?.timeZone || zone, autocomplete: "off", list: `${prefix}-known-zones` });
  const knownZones = h("datalist", { id: `${prefix}-known-zones` }, zoneNames().map((name) => h("option", { value: name })));
  const fieldset = h("fieldset", { class: "schedule-fields" },
    h("legend", {}, "Schedule"),
    h("fieldset", { class: "days" }, h("legend", {}, "Work days"), days),
    h("div", { class: "field" }, h("label", { for: `${prefix}-start` }, "Shift start"), start),
    h("div", { class: "field" }, h("label", { for: `${prefix}-end` }, "Shift end"), end),
    h("div", { class: "field" }, h("label", { for: `${prefix}-grace` }, "Grace (minutes)"), grace),
    h("div", { class: "field" }, h("label", { for: `${prefix}-zone` }, "Schedule time zone"), timeZone, knownZones));

  // A change takes effect from this day: the days before keep theirs. Until the admin picks one, today in the
  // schedule's zone, as the API's default.
  const from = h("input", { id: `${prefix}-schedule-from`, type: "date", required: true, min: "2000-01-01", max: "2100-12-31", value: today(timeZone.value.trim()) });
  const fromFollows = todayUntilPicked(from);
  timeZone.addEventListener("input", () => fromFollows.follow(timeZone.value.trim()));
  const note = h("p", { class: "muted small schedule-note" },
    "A schedule change applies from this day on: the reports of the days before keep the schedule that held then, so a pay period already paid keeps its figures. A day before an earlier change replaces it from that day on.");
  const fromField = h("div", { class: "field" }, h("label", { for: `${prefix}-schedule-from` }, "Applies from"), from, note);

  return {
    fieldset,
    fromField,
    from,
    /** The inputs by the API's names of the fields, for the problems it names. */
    inputs: { start, end, graceMinutes: grace, timeZone },
    /** Whether the admin chose the day (else it is today's). */
    fromPicked: fromFollows.picked,
    /** Today's day, unless the admin chose one: call before reading `from` to save. */
    refreshFrom: () => fromFollows.follow(timeZone.value.trim()),
    /** The schedule as the inputs say it, by the API's names; null when no work day is chosen. */
    asked() {
      const chosen = days.map((d) => d.querySelector("input")).filter((b) => b.checked).map((b) => b.value);
      if (!chosen.length) return null;
      return { days: chosen, start: start.value, end: end.value, graceMinutes: Number(grace.value), timeZone: timeZone.value.trim() };
    },
  };
}

/** Whether a schedule asked for is `schedule` (as the API shows it). */
export function sameSchedule(asked, schedule) {
  const fields = ["start", "end", "graceMinutes", "timeZone"];
  return asked.days.join() === schedule.days.join() && fields.every((field) => asked[field] === schedule[field]);
}

export const NO_WORK_DAY = "Choose at least one work day.";
