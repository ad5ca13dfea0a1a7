// The workspace's target list (newest first, filtered by status) and the counts per status. A row is selected
// by a click, or by Enter when it has the keyboard's focus.
import { badge, counted, el } from "./ui.js";

const STATUSES = ["queued", "running", "predicted", "approved", "corrected", "rejected", "failed"];

// The targets as listed (newest first, the filter applied): what J / K walk through.
export function listedTargets(targets, filter) {
  return [...targets.values()].sort((a, b) => b.id - a.id).filter((t) => !filter || t.status === filter);
}

function row(target, selected, onSelect) {
  return el("li", {
    dataset: { target: target.id, status: target.status }, class: selected ? "selected" : "", tabindex: 0,
    "aria-current": selected ? "true" : false, onclick: () => onSelect(target.id),
    onkeydown: (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); onSelect(target.id); } },
  },
  el("span", {}, `#${target.id}`), badge(target.status),
  el("span", { class: "muted small grow" }, target.label || ""),
  target.prediction ? el("span", { class: "small" }, target.prediction.score.toFixed(2)) : null,
  );
}

export function renderTargetList({ targets, filter, selected, onSelect }) {
  const all = [...targets.values()];
  const shown = listedTargets(targets, filter);
  const list = document.getElementById("targets");
  const hadFocus = list.contains(document.activeElement) ? document.activeElement.dataset.target : null;
  list.replaceChildren(...shown.map((t) => row(t, t.id === selected, onSelect)));
  if (hadFocus) list.querySelector(`li[data-target="${hadFocus}"]`)?.focus();
  if (!shown.length) list.append(el("li", { class: "muted" }, all.length ? "No target with this status." : "No targets yet: click an object in the drone image."));
  const counts = Object.fromEntries(STATUSES.map((s) => [s, all.filter((t) => t.status === s).length]));
  document.getElementById("counts").replaceChildren(
    el("span", { class: "muted" }, counted(all.length, "target")),
    ...STATUSES.filter((s) => counts[s]).map((s) => el("span", { dataset: { count: s } }, badge(s), ` ${counts[s]}`)),
  );
}
