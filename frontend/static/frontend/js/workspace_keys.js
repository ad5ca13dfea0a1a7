// The workspace's keyboard: one table of shortcuts drives both the keys and the sheet `?` opens. Keys work
// everywhere on the page except in text fields (and the arrows stay Leaflet's on a focused basemap).
import { el } from "./ui.js";

export const SHORTCUTS = [
  { keys: ["←", "→"], does: "previous / next drone photo", action: { ArrowLeft: "previousImage", ArrowRight: "nextImage" } },
  { keys: ["J", "K"], does: "next / previous target in the list", action: { j: "nextTarget", k: "previousTarget" } },
  { keys: ["C"], does: "crosshair on the drone photo (Tab to the photo does the same)", action: { c: "focusPhoto" } },
  { keys: ["←", "↑", "→", "↓"], where: "on the photo", does: "move the crosshair (with Shift: ten times farther)" },
  { keys: ["Enter"], where: "on the photo", does: "click at the crosshair, as the mouse would" },
  { keys: ["Esc"], where: "on the photo", does: "leave the crosshair" },
  { keys: ["Enter"], where: "on a target in the list", does: "select it" },
  { keys: ["Z"], does: "zoom the basemap to the selected target's box", action: { z: "zoomToBox" } },
  { keys: ["F"], does: "fit the whole basemap in view", action: { f: "fitBasemap" } },
  { keys: ["H"], does: "heatmap on / off", action: { h: "toggleHeatmap" } },
  { keys: ["T"], does: "top-K candidates on / off", action: { t: "toggleCandidates" } },
  { keys: ["Delete"], does: "delete the selected target (your own click, before it is reviewed)", action: { Delete: "deleteTarget" } },
  { keys: ["?"], does: "this sheet; Esc closes it", action: { "?": "showShortcuts" } },
];

const KEYMAP = Object.assign({}, ...SHORTCUTS.map((s) => s.action || {}));
const TYPED = new Set(["checkbox", "radio", "button", "submit", "reset", "file", "range", "color"]);

const isTextField = (node) =>
  node instanceof HTMLTextAreaElement || node instanceof HTMLSelectElement || Boolean(node?.isContentEditable) ||
  (node instanceof HTMLInputElement && !TYPED.has(node.type));

function fillSheet(sheet) {
  const rows = SHORTCUTS.map((s) =>
    el("tr", {},
      el("td", {}, ...s.keys.flatMap((key, i) => [i ? " " : "", el("kbd", {}, key)])),
      el("td", {}, s.where ? el("span", { class: "muted" }, `${s.where}: `) : "", s.does),
    ),
  );
  sheet.querySelector("tbody").replaceChildren(...rows);
  sheet.querySelector("[data-close]").addEventListener("click", () => sheet.close());
}

// `actions`: the named actions of KEYMAP; `photoKey(event)`: the crosshair's keys, true when it used the key.
export function setupKeys(actions, { photo, photoKey }) {
  const sheet = document.getElementById("shortcuts");
  fillSheet(sheet);
  actions.showShortcuts = () => sheet.showModal();
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || sheet.open) return;
    if (isTextField(event.target)) return;
    if (photo.contains(event.target) && photoKey(event)) return event.preventDefault();
    const onMap = event.target instanceof Element && event.target.closest(".leaflet-container");
    if (onMap && event.key.startsWith("Arrow")) return;  // Leaflet pans a focused basemap
    const name = KEYMAP[event.key.length === 1 ? event.key.toLowerCase() : event.key];
    if (!name || !actions[name]) return;
    event.preventDefault();
    actions[name]();
  });
}
