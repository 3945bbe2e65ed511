// The dashboard's shell: sign-in, navigation and the router. Each page is a module of its own
// (page-*.js) exporting render(view, params) -> optional cleanup function.
import { ApiFailure, api, feed, h, session, showError, zone } from "./core.js";

const PAGES = {
  live: () => import("./page-live.js"),
  devices: () => import("./page-devices.js"),
  employees: () => import("./page-employees.js"),
  reports: () => import("./page-reports.js"),
  deliveries: () => import("./page-deliveries.js"),
};
const TITLES = { live: "Live", devices: "Devices", employees: "Employees", reports: "Reports", deliveries: "Deliveries" };

let cleanup = null;
const view = () => document.getElementById("view");

/** The scopes a key's feed token carries (read, admin): whether admin actions are shown. */
async function scopesOf() {
  const grant = await api("/auth/token", { method: "POST" });
  const payload = grant.token.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
  return JSON.parse(atob(payload)).scope || [];
}

function showSignIn(message) {
  feed.stop();
  if (cleanup) cleanup();
  cleanup = null;
  document.getElementById("nav").hidden = true;
  document.getElementById("session").hidden = true;
  const form = signInForm();
  view().replaceChildren(form);
  form.hidden = false;
  const error = form.querySelector("#sign-in-error");
  error.hidden = !message;
  error.textContent = message || "";
  form.querySelector("#api-key").focus();
}

let signInTemplate = null;
function signInForm() {
  signInTemplate ||= document.getElementById("sign-in");
  return signInTemplate;
}

async function signIn(key) {
  session.start(key, []);
  try {
    session.scopes = await scopesOf();
  } catch (error) {
    session.end();
    const why = error instanceof ApiFailure && error.status === 401 ? "This API key is unknown or revoked."
      : error instanceof ApiFailure && error.status === 403 ? "This API key has neither the read nor the admin scope."
      : error.message;
    showSignIn(why);
    return;
  }
  document.getElementById("nav").hidden = false;
  document.getElementById("session").hidden = false;
  document.getElementById("zone-name").textContent = zone;
  document.body.classList.toggle("admin", session.isAdmin);
  feed.start();
  if (!location.hash || location.hash === "#/") location.hash = "#/live";
  else route();
}

/** A part of the address as written: a malformed escape (a link cut short, say) is taken as it is, which
 * the page then finds nothing under, rather than stopping the dashboard. */
function decodedPart(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

async function route() {
  if (!session.key) return showSignIn();
  const [name, ...params] = location.hash.replace(/^#\/?/, "").split("/").map(decodedPart);
  const page = PAGES[name] ? name : "live";
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.getAttribute("href") === `#/${page}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${TITLES[page]} · attendance-sync`;
  if (cleanup) cleanup();
  cleanup = null;
  const container = h("section", { class: "page", "aria-labelledby": "page-title" });
  view().replaceChildren(container);
  let module;
  try {
    module = await PAGES[page]();
  } catch {  // the page's module is fetched on first use: the server is gone, or the network
    container.replaceChildren(
      h("p", { class: "error", role: "alert" }, "This page could not be loaded: the server cannot be reached. Check the connection, then try again."),
      h("button", { type: "button", onclick: route }, "Try again"));
    return;
  }
  try {
    cleanup = (await module.render(container, params.filter(Boolean))) || null;
  } catch (error) {
    showError(container, error);
  }
  // The new page for screen readers and the keyboard, unless the page put the cursor somewhere itself
  if (!view().contains(document.activeElement)) view().focus({ preventScroll: true });
}

document.addEventListener("DOMContentLoaded", () => {
  signInForm().addEventListener("submit", (event) => {
    event.preventDefault();
    const input = signInForm().querySelector("#api-key");
    const key = input.value.trim();
    input.value = "";
    signIn(key);
  });
  document.getElementById("sign-out").addEventListener("click", () => {
    session.end();
    location.hash = "";
    showSignIn();
  });
  window.addEventListener("hashchange", route);
  if (session.key) signIn(session.key);
  else showSignIn();
});
