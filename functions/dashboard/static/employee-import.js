// "Import from a CSV file" on the Employees page (admins): a spreadsheet's export of the directory is checked
// first (the API's dry run: who is added, what changes for whom), then imported as shown. Every row is taken,
// or, when a line is wrong, none: the lines are listed so the file can be fixed. The directory downloads as
// such a file too, to edit in a spreadsheet and import again.
import { ApiFailure, api, apiText, h, notify, saveCsv, showError, table } from "./core.js";

const PATH = "/employee-imports";
const words = (column) => ({ userId: "ID", name: "name", department: "department", startedOn: "first working day", leftOn: "last working day", vacationDaysPerYear: "vacation a year" })[column] ?? column;
const plural = (count, noun) => `${count} ${noun}${count === 1 ? "" : "s"}`;

/** The section; `imported()` runs once an import has changed the directory. */
export function importSection(imported) {
  const file = h("input", { id: "import-file", name: "file", type: "file", accept: ".csv,text/csv", required: true });
  const check = h("button", { type: "submit" }, "Check file");
  const result = h("div", { class: "import-result", "aria-live": "polite" });
  let checkedFile = null; // the file the preview shows; importing sends this very file

  async function send(chosen, dryRun) {
    return api(PATH, { method: "POST", file: chosen, contentType: "text/csv", query: { dryRun: String(dryRun) } });
  }

  async function checkFile(event) {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const chosen = file.files[0];
    check.disabled = true;
    result.replaceChildren(h("p", { class: "loading", role: "status" }, `Checking ${chosen.name}…`));
    try {
      const plan = await send(chosen, true);
      checkedFile = chosen;
      result.replaceChildren(...preview(plan, chosen.name, importFile));
    } catch (error) {
      showRefusal(error);
    } finally {
      check.disabled = false;
    }
  }

  async function importFile() {
    const button = result.querySelector("button.import-now");
    button.disabled = true;
    try {
      const done = await send(checkedFile, false);
      notify(`Imported ${checkedFile.name}: ${plural(done.added, "employee")} added, ${done.changed} changed.`);
      reset();
      imported();
    } catch (error) {
      button.disabled = false;
      showRefusal(error);
    }
  }

  function showRefusal(error) {
    if (!(error instanceof ApiFailure && error.error === "invalid_file" && error.details.length)) {
      showError(result, error);
      return;
    }
    result.replaceChildren(
      h("p", { class: "error", role: "alert" }, `Nothing was imported. Fix ${error.details.length === 1 ? "this line" : "these lines"} of the file and check it again:`),
      h("ul", { class: "import-problems" }, error.details.map((d) => h("li", {}, `${d.field}: ${d.problem}`))));
  }

  function reset() {
    checkedFile = null;
    form.reset();
    result.replaceChildren();
  }

  file.addEventListener("change", () => { checkedFile = null; result.replaceChildren(); });
  const download = h("button", { type: "button", class: "secondary", onclick: () => downloadDirectory(download) }, "Download the directory (CSV)");
  const form = h("form", { class: "import-form", onsubmit: checkFile },
    h("label", { for: "import-file" }, "CSV file"), file, check);
  return h("details", { class: "card import-employees" },
    h("summary", {}, "Import employees from a CSV file"),
    h("p", { class: "muted" },
      "A spreadsheet's CSV export with a header row: userId, name, and optionally department, startedOn and leftOn (their first and last working days, YYYY-MM-DD) and vacationDaysPerYear (their vacation allowance in days). ",
      "Check the file first: nothing changes until you import it. Without a department, startedOn, leftOn or vacationDaysPerYear column, those stay as they are. ",
      "The directory downloads as such a file, to edit and import again."),
    h("p", {}, download),
    form, result);
}

/** What the dry run found, and the button that imports it. */
function preview(plan, name, importNow) {
  const count = plan.added + plan.changed;
  const summary = h("p", { class: "import-summary" },
    `${name}: ${plural(plan.added, "employee")} to add, ${plural(plan.changed, "employee")} to change, ${plan.unchanged} as they are.`);
  if (!count) return [summary, h("p", {}, "Nothing to import: the directory already has every employee in the file as it is.")];
  const rows = [
    ...plan.addedEmployees.map((e) => ({ userId: e.userId, what: "added", detail: [e.name, e.department, e.startedOn && `first day ${e.startedOn}`, e.leftOn && `last day ${e.leftOn}`].filter(Boolean).join(", ") })),
    ...plan.changes.map((c) => ({
      userId: c.userId, what: "changed",
      detail: Object.entries(c.fields).map(([column, f]) => `${words(column)}: ${f.before ?? "–"} → ${f.after ?? "–"}`).join("; "),
    })),
  ];
  return [
    summary,
    table({
      caption: `What importing ${name} does`,
      columns: [
        { label: "Employee", cell: (r) => r.userId },
        { label: "Change", cell: (r) => r.what },
        { label: "Details", cell: (r) => r.detail },
      ],
      rows,
      key: (r) => r.userId,
      empty: "",
    }),
    h("div", { class: "actions" }, h("button", { type: "button", class: "import-now", onclick: importNow }, `Import ${plural(count, "change")}`)),
  ];
}

/** The directory as the API exports it (GET /employees?format=csv), saved as employees.csv. */
async function downloadDirectory(button) {
  button.disabled = true;
  try {
    saveCsv(await apiText("/employees", { query: { format: "csv" } }), "employees.csv");
    notify("Downloaded employees.csv");
  } catch (error) {
    notify(error.message || String(error), "error");
  } finally {
    button.disabled = false;
  }
}
