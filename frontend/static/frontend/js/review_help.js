// A small sheet listing a page's keyboard shortcuts, opened with `?` (or its button) and closed with `?`, Esc or
// its Close button. Built here so the page's template needs no markup for it.

import { el } from "./ui.js";

// `rows`: [[keys, what they do], ...]
export function helpSheet(title, rows) {
  const close = el("button", { type: "button", id: "keys-help-close" }, "Close");
  const dialog = el("dialog", { id: "keys-help", class: "keys-help", "aria-labelledby": "keys-help-title" },
    el("h2", { id: "keys-help-title" }, title),
    el("table", {}, el("tbody", {}, ...rows.map(([keys, does]) =>
      el("tr", {}, el("th", { scope: "row" }, ...keyCaps(keys)), el("td", {}, does))))),
    el("p", { class: "small muted" }, "The keys work everywhere on the page except while you type in a text field."),
    el("div", { class: "row" }, close),
  );
  document.body.append(dialog);
  close.addEventListener("click", () => dialog.close());
  const sheet = {
    isOpen: () => dialog.open,
    open: () => dialog.open || dialog.showModal(),
    close: () => dialog.close(),
    toggle: () => (dialog.open ? dialog.close() : dialog.showModal()),
  };
  return sheet;
}

// "J or N" -> <kbd>J</kbd> or <kbd>N</kbd>; "1–5" -> <kbd>1</kbd>–<kbd>5</kbd>
function keyCaps(keys) {
  return keys.split(/( or |–)/).map((part) => (part === " or " || part === "–" ? part : el("kbd", {}, part)));
}
