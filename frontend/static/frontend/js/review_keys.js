// The review page's keyboard: one table says which key does what; the `?` sheet lists the same table. Keys act
// everywhere on the page (a focused checkbox, button or drop-down included) except while typing in a text field.

import { helpSheet } from "./review_help.js";

// [keys shown, what they do, the `event.key` values (lower case) that trigger the action named]
export const REVIEW_KEYS = [
  ["A", "approve the predicted box", ["a"], "approve"],
  ["R", "reject (the model found the wrong thing, or nothing)", ["r"], "reject"],
  ["C", "save the correction, after dragging the box or its corners", ["c"], "correct"],
  ["1–5", "the right box is that candidate", ["1", "2", "3", "4", "5"], "candidate"],
  ["U", "undo your last decision (also after a reload)", ["u"], "undo"],
  ["J or N", "next target in the queue (wraps round)", ["j", "n"], "next"],
  ["K", "previous target in the queue (wraps round)", ["k"], "previous"],
  ["?", "show or hide this list of keys", ["?"], "help"],
];

// Fields where a letter is text, not a command. A <select> is not one: closed, it takes no text; open, its list
// has the keyboard to itself.
const TEXT_INPUTS = new Set(["text", "number", "search", "email", "password", "url", "tel", "date", "time", "datetime-local", "month", "week"]);

export function typingIn(element) {
  if (!element) return false;
  if (element.isContentEditable || element.tagName === "TEXTAREA") return true;
  return element.tagName === "INPUT" && TEXT_INPUTS.has((element.getAttribute("type") || "text").toLowerCase());
}

// `actions`: { approve(), reject(), correct(), candidate(index), undo(), next(), previous() } by the names above.
export function bindReviewKeys(actions) {
  const sheet = helpSheet("Review keys", REVIEW_KEYS.map(([keys, does]) => [keys, does]));
  const byKey = new Map();
  for (const [, , keys, name] of REVIEW_KEYS) for (const key of keys) byKey.set(key, name);
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typingIn(event.target)) return;
    const key = event.key.toLowerCase();
    const name = byKey.get(key);
    if (!name) return;
    event.preventDefault(); // a focused drop-down does not also jump to an option starting with that letter
    if (name === "help") return sheet.toggle();
    if (sheet.isOpen()) return; // the sheet is on top: Esc or ? closes it first
    if (name === "candidate") actions.candidate(Number(key) - 1);
    else actions[name]();
  });
  return sheet;
}
