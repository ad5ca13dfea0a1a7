// The selected target beside the maps: its status, the reviewed box first (the prediction's beside it), the
// worker's reason when it failed, and the tools for it (zoom to its box, retry, delete a mis-click).
import { badge, el } from "./ui.js";

const PENDING = new Set(["queued", "running"]);
const REVIEWED = new Set(["approved", "corrected", "rejected"]);

// The box a reviewer settled on: a correction's final box; an approval keeps the prediction's. Null otherwise.
export function reviewedBox(target) {
  if (target.status === "corrected") return target.last_review?.final_box_geojson || null;
  if (target.status === "approved") return target.last_review?.final_box_geojson || target.prediction?.box_geojson || null;
  return null;
}

// The box the map zooms to: the reviewed one, else the model's.
export const mainBox = (target) => reviewedBox(target) || target.prediction?.box_geojson || null;

// Only its creator deletes a click, and only while nobody has reviewed it (the API answers 403 / 409 otherwise).
export const canDelete = (target, me) =>
  Boolean(me) && target.created_by?.id === me.id && !target.last_review && !REVIEWED.has(target.status);

export function centre(geojson) {
  const ring = geojson.coordinates[0].slice(0, 4);
  const lon = ring.reduce((s, p) => s + p[0], 0) / ring.length;
  const lat = ring.reduce((s, p) => s + p[1], 0) / ring.length;
  return `${lat.toFixed(6)}, ${lon.toFixed(6)}`;
}

function boxRows(target) {
  const p = target.prediction;
  const reviewed = reviewedBox(target);
  const rows = [];
  if (reviewed) rows.push(el("tr", { dataset: { box: "reviewed" } }, el("th", {}, "reviewed centre (lat, lon)"), el("td", { id: "box-centre" }, centre(reviewed))));
  const name = reviewed || target.status === "rejected" ? `predicted centre${target.status === "rejected" ? " (rejected)" : ""}` : "centre (lat, lon)";
  rows.push(el("tr", { dataset: { box: "predicted" }, class: reviewed ? "muted" : "" }, el("th", {}, name),
    el("td", { id: reviewed ? "predicted-centre" : "box-centre" }, centre(p.box_geojson))));
  return rows;
}

function predictionTable(target) {
  const p = target.prediction;
  return el("table", { class: "small" },
    ...boxRows(target),
    el("tr", {}, el("th", {}, "score"), el("td", { id: "pred-score" }, p.score.toFixed(3))),
    el("tr", {}, el("th", {}, "model"), el("td", {}, p.model_version_name)),
    el("tr", {}, el("th", {}, "search"), el("td", {}, `${p.search_mode}`)),
    el("tr", {}, el("th", {}, "latency"), el("td", {}, `${Math.round(p.latency_ms)} ms`)),
  );
}

// `tools`: { missionId, me, retry(id), remove(id), zoom() }
export function renderSelected(box, target, tools) {
  box.hidden = false;
  const lines = [el("div", { class: "row" }, el("h3", { class: "grow" }, `Target #${target.id}`), badge(target.status))];
  if (PENDING.has(target.status)) lines.push(el("p", { class: "muted" }, target.status === "queued" ? "Waiting for a worker…" : "The model is looking…"));
  if (target.status === "failed") {
    lines.push(el("p", { class: "error", id: "target-error" }, target.error || "failed"));
    lines.push(el("button", { id: "retry", onclick: () => tools.retry(target.id) }, "Retry"));
  }
  if (target.prediction) lines.push(predictionTable(target));
  if (target.last_review) lines.push(el("p", { class: "small" }, `Last review: ${target.last_review.decision} by ${target.last_review.reviewer?.username || "?"}`));
  const actions = el("div", { class: "row small" });
  if (target.prediction) actions.append(el("button", { id: "zoom-box", title: "Zoom the basemap to this box (Z)", onclick: tools.zoom }, "Zoom to box"));
  if (canDelete(target, tools.me)) {
    actions.append(el("button", { id: "delete-target", class: "danger", title: "Delete this mis-click (Delete)", onclick: () => tools.remove(target.id) }, "Delete"));
  }
  if (target.status === "predicted") actions.append(el("a", { href: `/missions/${tools.missionId}/review/?target=${target.id}` }, "Review it →"));
  lines.push(actions);
  box.replaceChildren(...lines);
}
