// The live page (being built).
import { h } from "./core.js";

export async function render(view) {
  view.replaceChildren(h("h1", { id: "page-title" }, "Live"));
}
