// The reviewer queue: the next predicted target in both panes; approve (A), reject (R), correct by dragging the
// box then C, or pick a candidate (1-5); undo the last decision (U, a new "reopen" review); next (N).
// A decision someone else made first (409) is explained, with a way to re-apply ours.
import { ApiError, api } from "./api.js";
import { basemapView, droneView } from "./maps.js";
import { badge, el, toast } from "./ui.js";

const missionId = Number(document.getElementById("review").dataset.mission);
const $ = (id) => document.getElementById(id);
const drone = droneView($("drone-map"));
const base = basemapView($("basemap-map"));
const PAST = { approve: "approved", correct: "corrected", reject: "rejected", reopen: "reopened" };

const state = { target: null, basemaps: new Map(), images: new Map(), corrected: null, editor: null, decided: [], busy: false };

async function cached(map, path, id) {
  if (!map.has(id)) map.set(id, await api(`${path}/${id}/`));
  return map.get(id);
}

async function show(target) {
  state.target = target;
  state.corrected = null;
  if (state.editor) state.editor.remove();
  state.editor = null;
  $("conflict").hidden = true;
  for (const id of ["approve", "reject", "next"]) $(id).disabled = !target;
  $("save-correction").disabled = true;
  if (!target) {
    $("current").replaceChildren(el("p", { id: "queue-empty" }, "Nothing left to review in this mission. New predictions appear here as the worker finishes them."));
    $("history").replaceChildren();
    base.clear();
    return;
  }
  const [image, basemap] = await Promise.all([cached(state.images, "drone-images", target.drone_image), cached(state.basemaps, "basemaps", target.basemap)]);
  drone.show(image);
  drone.showClicks([{ id: target.id, x: target.click_x, y: target.click_y, status: target.status, selected: true }]);
  $("drone-name").textContent = image.original_name;
  base.show(basemap);
  base.showDrone(image);
  draw();
  base.focus(target.prediction.box_geojson);
  const p = target.prediction;
  $("current").replaceChildren(
    el("div", { class: "row" }, el("strong", { class: "grow", id: "current-target", dataset: { target: target.id } }, `Target #${target.id}`), badge(target.status)),
    el("div", { class: "small" }, `clicked by ${target.created_by?.username || "?"}${target.label ? ` · ${target.label}` : ""}`),
    el("div", { class: "small" }, `score ${p.score.toFixed(3)}` +
      (typeof p.margin === "number" ? ` · margin ${p.margin.toFixed(3)}` : "") +
      ` · ${p.model_version_name} · ${p.candidates.length} candidates`),
  );
  renderHistory(target);
  history.replaceState(null, "", `?target=${target.id}`);
}

function draw() {
  const target = state.target;
  if (!target) return;
  base.showPrediction(target.prediction, { heatmap: $("show-heatmap").checked, candidates: $("show-candidates").checked });
  base.layers.box.clearLayers();
  state.editor = base.editableBox(state.corrected ? toGeojson(state.corrected) : target.prediction.box_geojson, (bounds) => {
    state.corrected = bounds;
    $("save-correction").disabled = false;
  });
}

const toGeojson = ([w, s, e, n]) => ({ type: "Polygon", coordinates: [[[w, n], [e, n], [e, s], [w, s], [w, n]]] });

function renderHistory(target) {
  $("history").replaceChildren(
    ...(target.reviews || []).map((r) =>
      el("li", {}, `${new Date(r.created_at).toLocaleString()} · ${r.reviewer?.username || "?"} ${PAST[r.decision] || r.decision}`,
        r.candidate !== null && r.candidate !== undefined ? ` (candidate ${r.candidate + 1})` : "", ` → ${r.status_after}`)),
  );
  if (!(target.reviews || []).length) $("history").append(el("li", { class: "muted" }, "No review yet."));
}

function renderSession() {
  $("session").replaceChildren(...state.decided.slice().reverse().map((d) => el("li", {}, `#${d.target} ${PAST[d.decision]}`)));
  $("undo").disabled = !state.decided.length;
}

// The queue's order (oldest first, or least confident first), remembered in this browser.
const ORDER_KEY = "smgeo.review-order";
$("review-order").value = localStorage.getItem(ORDER_KEY) || "oldest";
$("review-order").addEventListener("change", () => {
  localStorage.setItem(ORDER_KEY, $("review-order").value);
  $("review-order").blur(); // the review keys act on the page again
  load().catch((error) => toast(error.message, "error"));
});

async function load(params = "") {
  const order = $("review-order").value;
  const target = await api(`targets/next-review/?mission=${missionId}&order=${order}${params}`);
  await show(target);
}

async function open(id) {
  const target = await api(`targets/${id}/`);
  if (target.status !== "predicted") {
    toast(`Target #${id} is ${target.status}, not waiting for review; showing the queue instead.`, "info");
    return load();
  }
  return show(target);
}

// One decision on the shown target; on success the next target of the queue comes up.
async function decide(decision, extra = {}) {
  const target = state.target;
  if (!target || state.busy) return;
  state.busy = true;
  const body = { target: target.id, decision, expected_status: target.status, ...extra };
  try {
    const review = await api("reviews/", { method: "POST", body });
    state.decided.push({ target: target.id, decision, status: review.status_after });
    renderSession();
    toast(`Target #${target.id} ${PAST[decision]}`, "success", 2500);
    await load();
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 409) explainConflict(failure.body, body);
    else toast(failure.message, "error");
  } finally {
    state.busy = false;
  }
}

function explainConflict(conflict, body) {
  const latest = conflict.latest_review;
  const who = latest ? `${latest.reviewer?.username || latest.reviewer || "someone"} ${PAST[latest.decision] || latest.decision} it` : "it changed";
  const box = $("conflict");
  box.hidden = false;
  box.replaceChildren(
    el("strong", {}, "Someone decided first"),
    el("p", { class: "small" }, `${who}; the target is now ${conflict.current_status}. Your ${body.decision} was not saved.`),
    el("p", { class: "small muted" }, conflict.detail),
    el("div", { class: "row" },
      el("button", { id: "next-after-conflict", onclick: () => load() }, "Go to the next target"),
    ),
  );
}

async function undo() {
  const last = state.decided[state.decided.length - 1];
  if (!last || state.busy) return;
  state.busy = true;
  try {
    await api("reviews/", { method: "POST", body: { target: last.target, decision: "reopen", expected_status: last.status } });
    state.decided.pop();
    renderSession();
    toast(`Undone: target #${last.target} is back in review`, "info", 2500);
    await open(last.target);
  } catch (failure) {
    toast(failure.message, "error");
  } finally {
    state.busy = false;
  }
}

function pickCandidate(index) {
  const candidates = state.target?.prediction?.candidates || [];
  if (index >= candidates.length) return toast(`There is no candidate ${index + 1} (this prediction has ${candidates.length}).`, "error");
  decide("correct", { candidate: index });
}

const saveCorrection = () => state.corrected && decide("correct", { final_box_lonlat: state.corrected });
const next = () => state.target && load(`&after=${state.target.id}`);

$("approve").addEventListener("click", () => decide("approve"));
$("reject").addEventListener("click", () => decide("reject"));
$("save-correction").addEventListener("click", saveCorrection);
$("undo").addEventListener("click", undo);
$("next").addEventListener("click", next);
for (const id of ["show-heatmap", "show-candidates"]) $(id).addEventListener("change", draw);

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || /^(INPUT|SELECT|TEXTAREA)$/.test(event.target.tagName)) return;
  const key = event.key.toLowerCase();
  const actions = { a: () => decide("approve"), r: () => decide("reject"), c: saveCorrection, u: undo, n: next };
  if (actions[key]) actions[key]();
  else if (/^[1-5]$/.test(key)) pickCandidate(Number(key) - 1);
  else return;
  event.preventDefault();
});

const wanted = new URLSearchParams(location.search).get("target");
(wanted ? open(Number(wanted)) : load()).catch((failure) => {
  $("current").textContent = failure.message;
  toast(failure.message, "error");
});
