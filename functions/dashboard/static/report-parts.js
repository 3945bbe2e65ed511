// What every panel of the Reports page is made of: a labelled field, the area its result appears in (a
// status line, the Download CSV button, the table or the error), and the download itself.
import { api, apiText, h, notify, saveCsv, showError } from "./core.js";

export function field(id, label, ...input) {
  return h("div", {}, h("label", { for: id }, label), ...input);
}

/**
 * A department field: any text (the API matches it in any case), offering the directory's departments as
 * one types (read when the field is first used). `value()` is undefined when empty: every department.
 */
export function departmentInput(id) {
  const list = h("datalist", { id: `${id}-list` });
  let departments = null;
  const input = h("input", {
    id, name: "department", type: "text", maxlength: "128", autocomplete: "off", list: `${id}-list`,
    onfocus: async () => {
      departments ||= api("/employees").then((directory) =>
        [...new Set(directory.employees.map((employee) => employee.department).filter(Boolean))].sort());
      try {
        list.replaceChildren(...(await departments).map((name) => h("option", { value: name })));
      } catch {
        departments = null; // offered again on the next focus; the field works without it
      }
    },
  });
  return { nodes: [input, list], value: () => input.value.trim() || undefined, fill: (value) => { input.value = value || ""; } };
}

/**
 * Where a report appears: a status line (announced to screen readers: loading, then the summary; the
 * table itself is read when a person goes to it), the Download CSV button, and the table or the error.
 */
export function resultArea(initial) {
  const status = h("p", { role: "status", class: "report-status" });
  const action = h("div", { class: "report-action" });
  const content = h("div", { class: "report-content" }, initial);
  const node = h("div", { class: "report-result" }, h("div", { class: "report-toolbar" }, status, action), content);
  return {
    node,
    wait(what) {
      status.textContent = `Loading ${what}…`;
      status.classList.add("loading");
      action.replaceChildren();
      content.replaceChildren();
    },
    show(summary, button, body) {
      status.textContent = summary;
      status.classList.remove("loading");
      action.replaceChildren(...(button ? [button] : [])); // a list of holidays has no download
      content.replaceChildren(body);
    },
    fail(error) {
      status.textContent = "";
      status.classList.remove("loading");
      showError(content, error);
    },
  };
}

export function count(n, noun) {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

// ---- CSV download: fetched with the key in the header (never in a URL), saved from a Blob URL ----

export function download(path, query, filename) {
  const button = h("button", { type: "button", class: "secondary" }, "Download CSV");
  button.addEventListener("click", async () => {
    button.disabled = true;
    button.textContent = "Downloading…";
    try {
      saveCsv(await apiText(path, { query: { ...query, format: "csv" } }), filename);
      notify(`Downloaded ${filename}`);
    } catch (error) {
      notify(error.message || String(error), "error");
    } finally {
      button.disabled = false;
      button.textContent = "Download CSV";
    }
  });
  return button;
}

export function safe(name) {
  return name.replace(/[^A-Za-z0-9._@+-]+/g, "_");
}
