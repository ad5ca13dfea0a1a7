// The mission workspace: click an object in the drone photo (or place the keyboard's crosshair), see its box on
// the basemap as soon as the worker answers (no reload), with the heatmap and the top-K candidates; the target
// list; the team's active model; the selection kept in the address; uploads with progress (uploads.js).
import { all, api } from "./api.js";
import { basemapView, droneView } from "./maps.js";
import { basemapLabel, farFromBasemaps, setupUploads } from "./uploads.js";
import { el, poll, toast } from "./ui.js";
import { setupCrosshair } from "./workspace_crosshair.js";
import { setupKeys } from "./workspace_keys.js";
import { renderLegend } from "./workspace_legend.js";
import { listedTargets, renderTargetList } from "./workspace_list.js";
import { loadActiveModel } from "./workspace_model.js";
import { canDelete, mainBox, renderSelected, reviewedBox } from "./workspace_panel.js";
import { onUrlChange, readUrl, writeUrl } from "./workspace_url.js";

const PENDING = new Set(["queued", "running"]);
const workspace = document.getElementById("workspace");
const missionId = Number(workspace.dataset.mission);
const teamId = Number(workspace.dataset.team);
const $ = (id) => document.getElementById(id);

const state = {
  basemaps: [], images: [], targets: new Map(), selected: null, window: null, polling: false, me: null, model: undefined,
};
const drone = droneView($("drone-map"), { keyboard: false });
const base = basemapView($("basemap-map"));

function newKey() {
  return window.crypto?.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

// ---------------------------------------------------------------------------------------------- loading
async function load() {
  const [basemaps, images, targets, team] = await Promise.all([
    all(`basemaps/?mission=${missionId}`), all(`drone-images/?mission=${missionId}`), all(`targets/?mission=${missionId}`),
    loadActiveModel(teamId),
  ]);
  state.me = team.me;
  state.model = team.model;
  state.basemaps = basemaps;
  state.images = images.sort((a, b) => a.id - b.id);  // in the order they were taken/uploaded
  for (const target of targets) state.targets.set(target.id, target);
  renderBasemaps();
  restore(readUrl());
  renderTargets();
  watchPending();
  for (const basemap of basemaps.filter((b) => PENDING.has(b.status))) uploads.watchIngest(basemap.id, null);
}

// The selection the address names (on load, and on Back / Forward); the first photo when it names none.
function restore({ image, target }) {
  if (target && state.targets.has(target)) return select(target, { remember: false });
  deselect();
  const shown = state.images.find((i) => i.id === image) || state.images[0];
  if (shown) showImage(shown, { remember: false });
  renderTargets();
}

function remember() {
  writeUrl({ image: drone.image?.id, target: state.selected });
}

function readyBasemaps() {
  return state.basemaps.filter((basemap) => basemap.ready);
}

function renderBasemaps() {
  const select = $("basemap-select");
  const ready = readyBasemaps();
  const current = base.basemap?.id;
  select.replaceChildren(...ready.map((b) => el("option", { value: b.id, selected: b.id === current }, basemapLabel(b))));
  if (!ready.length) select.append(el("option", { value: "" }, "no basemap ready yet"));
  if (ready.length && !ready.some((b) => b.id === current)) base.show(ready[0]);
}

function renderThumbs() {
  $("drone-thumbs").replaceChildren(
    ...state.images.map((image) =>
      el("img", {
        src: image.thumbnail_url || image.file_url, alt: image.original_name, title: image.original_name,
        class: drone.image?.id === image.id ? "selected" : "", dataset: { image: image.id },
        onclick: () => showImage(image),
      }),
    ),
  );
}

// The selection follows the photo: another photo leaves no target of the previous one selected (panel, box, address).
function showImage(image, { remember: keep = true } = {}) {
  const changed = drone.image?.id !== image.id;
  if (changed && state.selected !== null && state.targets.get(state.selected)?.drone_image !== image.id) deselect();
  drone.show(image);
  const far = farFromBasemaps(image);
  $("drone-name").textContent = `${image.original_name}${image.has_gps ? "" : " (no GPS in EXIF)"}${far ? ` — ${far}` : ""}`;
  $("drone-name").classList.toggle("warn", Boolean(far));
  base.showDrone(image);
  if (changed) crosshair.reset();
  renderThumbs();
  renderClicks();
  if (keep) remember();
}

function deselect() {
  state.selected = null;
  base.showPrediction(null);
  $("selected").hidden = true;
  renderTargets();
}

// ←/→: the previous / next photo (wraps round).
function stepImage(by) {
  if (!state.images.length) return;
  const index = state.images.findIndex((i) => i.id === drone.image?.id);
  showImage(state.images[(index + by + state.images.length) % state.images.length]);
}

function renderClicks() {
  const image = drone.image;
  if (!image) return;
  const items = [...state.targets.values()]
    .filter((t) => t.drone_image === image.id)
    .map((t) => ({ id: t.id, x: t.click_x, y: t.click_y, status: t.status, selected: t.id === state.selected }));
  drone.showClicks(items, select);
}

// ---------------------------------------------------------------------------------------------- targets
function renderTargets() {
  renderTargetList({ targets: state.targets, filter: $("status-filter").value, selected: state.selected, onSelect: select });
}

// J / K: the next / previous target of the list as shown (the first one when none is selected).
function stepTarget(by) {
  const listed = listedTargets(state.targets, $("status-filter").value);
  if (!listed.length) return;
  const index = listed.findIndex((t) => t.id === state.selected);
  const next = index < 0 ? (by > 0 ? 0 : listed.length - 1) : Math.min(Math.max(index + by, 0), listed.length - 1);
  select(listed[next].id);
  $("targets").querySelector(`li[data-target="${listed[next].id}"]`)?.scrollIntoView({ block: "nearest" });
}

function select(id, { remember: keep = true } = {}) {
  const target = state.targets.get(id);
  if (!target) return;
  state.selected = id;
  const image = state.images.find((i) => i.id === target.drone_image);
  if (image && drone.image?.id !== image.id) showImage(image, { remember: false });
  const basemap = state.basemaps.find((b) => b.id === target.basemap);
  if (basemap?.ready) {
    base.show(basemap);
    $("basemap-select").value = String(basemap.id);
  }
  if (target.prediction && !target.prediction.candidates) withCandidates(id);  // list items leave them out
  else drawTarget(target, true);
  renderClicks();
  renderTargets();
  showSelected(target);
  if (keep) remember();
}

// The target's detail (its prediction's candidates included), drawn once it comes if the target is still selected.
async function withCandidates(id) {
  try {
    const target = await api(`targets/${id}/`);
    if (!state.targets.has(id)) return;
    state.targets.set(id, target);
    if (state.selected === id) drawTarget(target, true);
  } catch (error) {
    toast(`Could not load target #${id}: ${error.message}`, "error");
  }
}

function drawTarget(target, focus) {
  base.showPrediction(target.prediction, {
    heatmap: $("show-heatmap").checked, candidates: $("show-candidates").checked,
    reviewed: reviewedBox(target), rejected: target.status === "rejected",
  });
  if (focus) zoomToBox(target);
}

function zoomToBox(target = state.targets.get(state.selected)) {
  const box = target && mainBox(target);
  if (box) base.focus(box);
}

function showSelected(target) {
  renderSelected($("selected"), target, { missionId, me: state.me, retry, remove, zoom: () => zoomToBox() });
}

async function retry(id) {
  try {
    update(await api(`targets/${id}/retry/`, { method: "POST" }));
    watchPending();
  } catch (failure) {
    toast(failure.message, "error");
  }
}

// Delete a mis-click (its creator, before any review); the API's 403 / 409 reason is shown when refused.
async function remove(id = state.selected) {
  const target = state.targets.get(id);
  if (!target) return;
  if (!canDelete(target, state.me)) return toast(`Target #${id} cannot be deleted: only its creator can, before it is reviewed.`, "error");
  if (!window.confirm(`Delete target #${id}? Its click and prediction are removed for good.`)) return;
  try {
    await api(`targets/${id}/`, { method: "DELETE" });
  } catch (failure) {
    return toast(failure.message, "error");
  }
  state.targets.delete(id);
  if (state.selected === id) restore({ image: drone.image?.id, target: null });
  renderTargets();
  renderClicks();
  remember();
  toast(`Target #${id} deleted.`, "success", 3000);
}

function update(target) {
  const before = state.targets.get(target.id);
  if (!before) return;  // deleted meanwhile
  state.targets.set(target.id, target);
  if (PENDING.has(before.status) && target.status === "predicted") toast(`Target #${target.id}: box found (score ${target.prediction.score.toFixed(2)})`, "success", 3000);
  if (PENDING.has(before.status) && target.status === "failed") toast(`Target #${target.id} failed: ${target.error}`, "error");
  if (target.id === state.selected) {
    drawTarget(target, before.status !== target.status);
    showSelected(target);
  }
  renderTargets();
  renderClicks();
}

// The page follows every target still waiting for the worker, once a second (or, for a single one, by long
// polling), until none is left.
const countPending = () => [...state.targets.values()].filter((t) => PENDING.has(t.status)).length;

function watchPending() {
  if (state.polling) return;
  state.polling = true;
  poll(async () => {
    const pending = [...state.targets.values()].filter((t) => PENDING.has(t.status));
    if (pending.length === 1) {  // one click in flight: long polls answer the moment the worker saves the box
      let [target] = pending;
      while (PENDING.has(target.status) && countPending() === 1 && state.targets.has(target.id)) {
        target = await api(`targets/${target.id}/?changed_from=${target.status}&wait=3`);
        update(target);
      }
    } else {
      for (const target of pending) update(await api(`targets/${target.id}/`));
    }
    state.polling = countPending() > 0;
    return !state.polling;
  }, 1000);
}

// ---------------------------------------------------------------------------------------------- clicking
// A click at drone-photo pixel (x, y), from the mouse or the keyboard's crosshair.
async function place({ x, y }) {
  const image = drone.image;
  const basemap = base.basemap;
  if (!image || x < 0 || y < 0 || x >= image.width || y >= image.height) return;
  if (!state.model) {
    toast("This team has no active model: an admin activates one in Models & team. Clicks are off until then.", "error");
    return;
  }
  if (!basemap) {
    toast("Upload a basemap and wait for its ingest before clicking targets.", "error");
    return;
  }
  const body = { drone_image: image.id, basemap: basemap.id, click_x: x, click_y: y };
  if (state.window) body.search_window_lonlat = state.window;
  try {
    const target = await api("targets/", { method: "POST", body, headers: { "Idempotency-Key": newKey() } });
    state.targets.set(target.id, target);
    select(target.id);
    watchPending();
    const far = !state.window && farFromBasemaps(image);
    if (far) toast(`${image.original_name}: ${far} Draw a search window to narrow it.`, "warn", 10000);
  } catch (failure) {
    toast(failure.message, "error");
  }
}

const crosshair = setupCrosshair(drone, $("drone-map"), place);
drone.map.on("click", (event) => place(drone.toPixel(event.latlng)));

function toggle(id) {
  $(id).checked = !$(id).checked;
  $(id).dispatchEvent(new Event("change"));
}

setupKeys({
  previousImage: () => stepImage(-1), nextImage: () => stepImage(1),
  nextTarget: () => stepTarget(1), previousTarget: () => stepTarget(-1),
  focusPhoto: () => crosshair.focus(), zoomToBox: () => zoomToBox(), fitBasemap: () => base.fit(),
  toggleHeatmap: () => toggle("show-heatmap"), toggleCandidates: () => toggle("show-candidates"),
  deleteTarget: () => remove(),
}, { photo: $("drone-map"), photoKey: (event) => crosshair.key(event) });
onUrlChange(restore);
renderLegend($("map-legend"));

$("basemap-select").addEventListener("change", (event) => {
  const basemap = state.basemaps.find((b) => b.id === Number(event.target.value));
  if (basemap) base.show(basemap);
});
$("fit-basemap").addEventListener("click", () => base.fit());
$("show-shortcuts").addEventListener("click", () => $("shortcuts").showModal());
$("status-filter").addEventListener("change", renderTargets);
for (const id of ["show-heatmap", "show-candidates"]) {
  $(id).addEventListener("change", () => state.selected && drawTarget(state.targets.get(state.selected), false));
}
$("draw-window").addEventListener("click", async () => {
  toast("Drag a rectangle on the map: the next clicks search only there.", "info", 4000);
  state.window = await base.drawRectangle();
  base.showWindow(state.window);
  $("clear-window").hidden = false;
});
$("clear-window").addEventListener("click", () => {
  state.window = null;
  base.showWindow(null);
  $("clear-window").hidden = true;
});

// ---------------------------------------------------------------------------------------------- uploads
const uploads = setupUploads({ missionId, state, renderBasemaps, showImage });

load().catch((failure) => toast(failure.message, "error"));
