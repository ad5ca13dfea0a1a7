// The reviewer queue: the next target in both panes; approve (A), reject (R), correct by dragging the box then C,
// or pick a candidate (1-5); undo the last decision (U, a new "reopen" review, also after a reload); J/N and K step
// forward and back through the queue, which keeps its place: after a decision comes the target after the current
// one, so a skipped target returns only when the queue wraps round. A decided target opens read-only, with Reopen.
// A decision someone else made first (409) is explained. `?` lists the keys.
import { ApiError, api } from "./api.js";
import { basemapView, droneView } from "./maps.js";
import { bindReviewKeys } from "./review_keys.js";
import { explainConflict, renderEmpty, renderHistory, renderReadOnly, renderSession, renderTarget } from "./review_panel.js";
import { countText, reviewQueue } from "./review_queue.js";
import { pastTense, reviewSession } from "./review_session.js";
import { toast } from "./ui.js";

const $ = (id) => document.getElementById(id);
const missionId = Number($("review").dataset.mission);
const drone = droneView($("drone-map"));
const base = basemapView($("basemap-map"));
const session = reviewSession(missionId, $("review").dataset.user);
const fail = (failure) => toast(failure.message, "error");
const queue = reviewQueue(missionId, () => load().catch(fail));

const state = { target: null, basemaps: new Map(), images: new Map(), corrected: null, editor: null, busy: false, historyAll: false, calls: 0 };
const editable = () => state.target?.status === "predicted";

async function cached(map, path, id) {
  if (!map.has(id)) map.set(id, await api(`${path}/${id}/`));
  return map.get(id);
}

// `counts`: the queue's answer (`{count, total}`), or null when the queue is empty.
async function show(target, counts) {
  state.target = target;
  state.corrected = null;
  state.historyAll = false;
  if (state.editor) state.editor.remove();
  state.editor = null;
  $("conflict").hidden = true;
  $("queue-count").textContent = countText(counts, queue.status);
  for (const id of ["approve", "reject"]) $(id).disabled = !editable();
  $("next").disabled = !target;
  $("save-correction").disabled = true;
  renderReadOnly(target, reopen);
  if (!target) {
    renderEmpty(queue.status);
    base.clear();
    return;
  }
  const [image, basemap] = await Promise.all([cached(state.images, "drone-images", target.drone_image), cached(state.basemaps, "basemaps", target.basemap)]);
  if (state.target !== target) return; // another target came up meanwhile
  drone.show(image);
  drone.showClicks([{ id: target.id, x: target.click_x, y: target.click_y, status: target.status, selected: true }]);
  $("drone-name").textContent = image.original_name;
  base.show(basemap);
  base.showDrone(image);
  draw();
  base.focus(target.prediction.box_geojson);
  renderTarget(target);
  renderHistory(target, state.historyAll);
  history.replaceState(null, "", `?target=${target.id}`);
}

// The model's answer; waiting for review, its box is editable; decided, the review's box is shown as it stands.
function draw() {
  const target = state.target;
  if (!target) return;
  const layers = { heatmap: $("show-heatmap").checked, candidates: $("show-candidates").checked };
  if (!editable()) {
    base.showPrediction(target.prediction, { ...layers, reviewed: target.last_review?.final_box_geojson || null, rejected: target.status === "rejected" });
    return;
  }
  base.showPrediction(target.prediction, layers);
  base.layers.box.clearLayers();
  state.editor = base.editableBox(state.corrected ? toGeojson(state.corrected) : target.prediction.box_geojson, (bounds) => {
    state.corrected = bounds;
    $("save-correction").disabled = false;
  });
}

const toGeojson = ([w, s, e, n]) => ({ type: "Polygon", coordinates: [[[w, n], [e, n], [e, s], [w, s], [w, n]]] });

// The queue's first target, or the one after / before a given one (`{after: id}` / `{before: id}`).
// Only the latest call shows its answer: quick changes of the queue's choices may be answered out of order.
async function load(around = {}) {
  const call = ++state.calls;
  const target = await queue.fetch(around);
  if (call === state.calls) await show(target, target ? target.queue : null);
}

// Any target of the mission, by id: waiting for review, or decided (read-only).
async function open(id) {
  const call = ++state.calls;
  const [target, first] = await Promise.all([api(`targets/${id}/`), queue.fetch()]);
  if (call === state.calls) await show(target, first ? first.queue : null);
}

function refreshSession() {
  renderSession(session.entries);
  $("undo").disabled = !session.last();
}

// One decision on the shown target; on success the queue goes on with the target after it.
async function decide(decision, extra = {}) {
  const target = state.target;
  if (!target || state.busy) return;
  if (!editable()) return toast(`Target #${target.id} is already ${target.status}: reopen it first to decide again.`, "error");
  state.busy = true;
  const body = { target: target.id, decision, expected_status: target.status, ...extra };
  try {
    const review = await api("reviews/", { method: "POST", body });
    session.add(target.id, decision, review.status_after);
    refreshSession();
    toast(`Target #${target.id} ${pastTense(decision)}`, "success", 2500);
    await load({ after: target.id });
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 409) explainConflict(failure.body, body, () => load({ after: target.id }).catch(fail));
    else fail(failure);
  } finally {
    state.busy = false;
  }
}

// A "reopen" review: of the last decision of this session (U), or of the decided target shown (Reopen).
async function reopenTarget(targetId, expectedStatus, message) {
  if (state.busy) return;
  state.busy = true;
  try {
    await api("reviews/", { method: "POST", body: { target: targetId, decision: "reopen", expected_status: expectedStatus } });
    session.undone(targetId);
    refreshSession();
    toast(message, "info", 2500);
    await open(targetId);
  } catch (failure) {
    fail(failure);
  } finally {
    state.busy = false;
  }
}

function undo() {
  const last = session.last();
  if (!last) return toast("No decision of yours to undo in this session.", "info");
  return reopenTarget(last.target, last.status, `Undone: target #${last.target} is back in review`);
}

function reopen() {
  const target = state.target;
  if (target && !editable()) return reopenTarget(target.id, target.status, `Target #${target.id} reopened: decide again`);
}

function pickCandidate(index) {
  const candidates = state.target?.prediction?.candidates || [];
  if (editable() && index >= candidates.length) return toast(`There is no candidate ${index + 1} (this prediction has ${candidates.length}).`, "error");
  decide("correct", { candidate: index });
}

function saveCorrection() {
  if (!state.target) return;
  if (editable() && !state.corrected) return toast("Drag the box or its corners first, then press C to save the correction.", "error");
  decide("correct", { final_box_lonlat: state.corrected });
}

const step = (direction) => (state.target ? load({ [direction]: state.target.id }) : load()).catch(fail);
const next = () => step("after");

$("approve").addEventListener("click", () => decide("approve"));
$("reject").addEventListener("click", () => decide("reject"));
$("save-correction").addEventListener("click", saveCorrection);
$("undo").addEventListener("click", undo);
$("next").addEventListener("click", next);
$("history-toggle").addEventListener("click", () => {
  state.historyAll = !state.historyAll;
  if (state.target) renderHistory(state.target, state.historyAll);
});
for (const id of ["show-heatmap", "show-candidates"]) $(id).addEventListener("change", draw);
const keys = bindReviewKeys({
  approve: () => decide("approve"), reject: () => decide("reject"), correct: saveCorrection, candidate: pickCandidate,
  undo, next, previous: () => step("before"),
});
$("keys-help-open").addEventListener("click", () => keys.open());

refreshSession();
const wanted = new URLSearchParams(location.search).get("target");
queue.loadPhotos()
  .then(() => (wanted ? open(Number(wanted)) : load()))
  .catch((failure) => {
    $("current").textContent = failure.message;
    fail(failure);
  });
