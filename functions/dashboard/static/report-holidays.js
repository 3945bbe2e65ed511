// The Reports page's holidays: the company's days off (GET /holidays), which a pay period counts neither as
// scheduled days nor as absences. An admin adds, renames and removes them here (PUT and DELETE
// /holidays/{date}); a read key sees the list.
import { api, clearFieldErrors, confirmAction, h, notify, session, showFieldErrors, table, today } from "./core.js";
import { count, field, resultArea } from "./report-parts.js";

const weekday = new Intl.DateTimeFormat(undefined, { weekday: "long", timeZone: "UTC" });

/** The panel. `changed()` is called once a holiday is added, renamed or removed (a pay period shown reads again). */
export function holidaysPanel({ changed }) {
  const year = h("input", {
    id: "holidays-year", name: "year", type: "number", min: "2000", max: "2100", required: true, value: today().slice(0, 4),
  });
  const result = resultArea();
  let asked = 0;

  async function load() {
    if (!yearForm.reportValidity()) return;
    const shown = year.value;
    const ticket = ++asked;
    result.wait(`the holidays of ${shown}`);
    try {
      const list = await api("/holidays", { query: { year: shown } });
      if (ticket !== asked) return;
      result.show(`${count(list.count, "holiday")} in ${list.year}.`, null, table({
        caption: `Company holidays, ${list.year}`,
        columns: columns(),
        rows: list.holidays,
        key: (holiday) => holiday.date,
        empty: `No holidays in ${list.year}.${session.isAdmin ? " Add the first below." : ""}`,
      }));
    } catch (error) {
      if (ticket === asked) result.fail(error);
    }
  }

  function columns() {
    const shown = [
      { label: "Date", cell: (holiday) => holiday.date },
      { label: "Day", cell: (holiday) => weekday.format(new Date(`${holiday.date}T00:00:00Z`)) },
      { label: "Holiday", cell: (holiday) => holiday.name },
    ];
    if (!session.isAdmin) return shown;
    return [...shown, {
      label: "Remove",
      cell: (holiday) => h("button", {
        type: "button", class: "secondary small-button", "aria-label": `Remove ${holiday.name} on ${holiday.date}`,
        onclick: () => remove(holiday),
      }, "Remove"),
    }];
  }

  async function remove(holiday) {
    const question = `Remove ${holiday.name} on ${holiday.date}? Whoever's schedule has that weekday is expected at work again.`;
    if (!(await confirmAction(question, "Remove holiday"))) return;
    try {
      await api(`/holidays/${holiday.date}`, { method: "DELETE" });
      notify(`Removed ${holiday.name} on ${holiday.date}`);
      after(holiday.date);
    } catch (error) {
      notify(error.message, "error");
    }
  }

  function after(date) { // a change: the year it is in shown, and whatever depends on holidays read again
    year.value = date.slice(0, 4);
    load();
    changed();
  }

  const yearForm = h("form", { class: "inline report-form", onsubmit: (event) => { event.preventDefault(); load(); } },
    field("holidays-year", "Year", year),
    h("button", { type: "submit" }, "Show holidays"));

  const panel = h("section", { class: "card report-panel", "aria-labelledby": "holidays-title" },
    h("h2", { id: "holidays-title" }, "Holidays"),
    h("p", { class: "muted" },
      "The company's days off: a pay period counts them neither as scheduled days nor as absences. " +
      "Work on a holiday still counts."),
    yearForm, result.node, session.isAdmin ? addForm(after) : null);

  return { panel, load };
}

/** An admin's form: a date and a name; a date that has a holiday already gets the new name. */
function addForm(added) {
  // the years a list of holidays shows
  const date = h("input", { id: "holiday-date", name: "date", type: "date", required: true, min: "2000-01-01", max: "2100-12-31" });
  const name = h("input", {
    id: "holiday-name", name: "name", type: "text", required: true, maxlength: "128", autocomplete: "off",
    placeholder: "New Year's Day",
  });
  const problem = h("div", { class: "holiday-problem" });
  const inputs = { name };

  async function submit(event) {
    event.preventDefault();
    clearFieldErrors(inputs);
    problem.replaceChildren();
    try {
      const holiday = await api(`/holidays/${date.value}`, { method: "PUT", body: { name: name.value } });
      notify(`Saved ${holiday.name} on ${holiday.date}`);
      name.value = "";
      added(holiday.date);
    } catch (error) {
      showFieldErrors(problem, inputs, error);
    }
  }

  return h("form", { class: "inline report-form holiday-add", "aria-labelledby": "holiday-add-title", onsubmit: submit },
    h("h3", { id: "holiday-add-title" }, "Add a holiday, or rename one"),
    field("holiday-date", "Date", date),
    field("holiday-name", "Name", name),
    h("button", { type: "submit" }, "Add holiday"),
    problem);
}
