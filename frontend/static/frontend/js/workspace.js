// The mission workspace: click an object in the drone photo, see its box on the basemap as soon as the worker
// answers (no reload), with the heatmap and the top-K candidates; the target list; uploads with progress.
import { all, api, upload } from "./api.js";
import { basemapView, droneView } from "./maps.js";
import { badge, el, poll, toast } from "./ui.js";

const PENDING = new Set(["queued", "running"]);
const STATUSES = ["queued", "running", "predicted", "approved", "corrected", "rejected", "failed"];
const missionId = Number(document.getElementById("workspace").dataset.mission);
const $ = (id) => document.getElementById(id);

const state = { basemaps: [], images: [], targets: new Map(), selected: null, window: null, polling: false };
const drone = droneView($("drone-map"));
const base = basemapView($("basemap-map"));

function newKey() {
  return window.crypto?.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

// ---------------------------------------------------------------------------------------------- loading
async function load() {
  const [basemaps, images, targets] = await Promise.all([
    all(`basemaps/?mission=${missionId}`), all(`drone-images/?mission=${missionId}`), all(`targets/?mission=${missionId}`),
  ]);
  state.basemaps = basemaps;
  state.images = images.sort((a, b) => a.id - b.id);  // in the order they were taken/uploaded
  for (const target of targets) state.targets.set(target.id, target);
  renderBasemaps();
  renderThumbs();
  if (images.length) showImage(images[0]);
  renderTargets();
  watchPending();
  for (const basemap of basemaps.filter((b) => PENDING.has(b.status))) watchIngest(basemap.id, null);
}

function readyBasemaps() {
  return state.basemaps.filter((basemap) => basemap.ready);
}

function renderBasemaps() {
  const select = $("basemap-select");
  const ready = readyBasemaps();
  const current = base.basemap?.id;
  select.replaceChildren(...ready.map((b) => el("option", { value: b.id, selected: b.id === current }, b.name)));
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

function showImage(image) {
  drone.show(image);
  $("drone-name").textContent = `${image.original_name}${image.has_gps ? "" : " (no GPS in EXIF)"}`;
  base.showDrone(image);
  renderThumbs();
  renderClicks();
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
  const filter = $("status-filter").value;
  const targets = [...state.targets.values()].sort((a, b) => b.id - a.id);
  const shown = targets.filter((t) => !filter || t.status === filter);
  $("targets").replaceChildren(
    ...shown.map((t) =>
      el("li", { dataset: { target: t.id, status: t.status }, class: t.id === state.selected ? "selected" : "", onclick: () => select(t.id) },
        el("span", {}, `#${t.id}`), badge(t.status),
        el("span", { class: "muted small grow" }, t.label || ""),
        t.prediction ? el("span", { class: "small" }, t.prediction.score.toFixed(2)) : null,
      ),
    ),
  );
  if (!shown.length) $("targets").append(el("li", { class: "muted" }, targets.length ? "No target with this status." : "No targets yet: click an object in the drone image."));
  const counts = Object.fromEntries(STATUSES.map((s) => [s, targets.filter((t) => t.status === s).length]));
  $("counts").replaceChildren(
    el("span", { class: "muted" }, `${targets.length} targets`),
    ...STATUSES.filter((s) => counts[s]).map((s) => el("span", { dataset: { count: s } }, badge(s), ` ${counts[s]}`)),
  );
}

function select(id) {
  state.selected = id;
  const target = state.targets.get(id);
  if (!target) return;
  const image = state.images.find((i) => i.id === target.drone_image);
  if (image && drone.image?.id !== image.id) showImage(image);
  const basemap = state.basemaps.find((b) => b.id === target.basemap);
  if (basemap?.ready) {
    base.show(basemap);
    $("basemap-select").value = String(basemap.id);
  }
  drawTarget(target, true);
  renderClicks();
  renderTargets();
  renderSelected(target);
}

function drawTarget(target, focus) {
  const label = target.last_review && ["approved", "corrected"].includes(target.status) ? target.last_review.final_box_geojson : null;
  base.showPrediction(target.prediction, { heatmap: $("show-heatmap").checked, candidates: $("show-candidates").checked, label });
  if (focus && target.prediction) base.focus(target.prediction.box_geojson);
}

function centre(geojson) {
  const ring = geojson.coordinates[0].slice(0, 4);
  const lon = ring.reduce((s, p) => s + p[0], 0) / ring.length;
  const lat = ring.reduce((s, p) => s + p[1], 0) / ring.length;
  return `${lat.toFixed(6)}, ${lon.toFixed(6)}`;
}

function renderSelected(target) {
  const box = $("selected");
  box.hidden = false;
  const p = target.prediction;
  const lines = [el("div", { class: "row" }, el("h3", { class: "grow" }, `Target #${target.id}`), badge(target.status))];
  if (PENDING.has(target.status)) lines.push(el("p", { class: "muted" }, target.status === "queued" ? "Waiting for a worker…" : "The model is looking…"));
  if (target.status === "failed") {
    lines.push(el("p", { class: "error", id: "target-error" }, target.error || "failed"));
    lines.push(el("button", { id: "retry", onclick: () => retry(target.id) }, "Retry"));
  }
  if (p) {
    lines.push(el("table", { class: "small" },
      el("tr", {}, el("th", {}, "score"), el("td", { id: "pred-score" }, p.score.toFixed(3))),
      el("tr", {}, el("th", {}, "centre (lat, lon)"), el("td", {}, centre(p.box_geojson))),
      el("tr", {}, el("th", {}, "model"), el("td", {}, p.model_version_name)),
      el("tr", {}, el("th", {}, "search"), el("td", {}, `${p.search_mode}`)),
      el("tr", {}, el("th", {}, "latency"), el("td", {}, `${Math.round(p.latency_ms)} ms`)),
    ));
  }
  if (target.last_review) lines.push(el("p", { class: "small" }, `Last review: ${target.last_review.decision} by ${target.last_review.reviewer?.username || "?"}`));
  if (target.status === "predicted") lines.push(el("a", { href: `/missions/${missionId}/review/?target=${target.id}` }, "Review it →"));
  box.replaceChildren(...lines);
}

async function retry(id) {
  try {
    update(await api(`targets/${id}/retry/`, { method: "POST" }));
    watchPending();
  } catch (failure) {
    toast(failure.message, "error");
  }
}

function update(target) {
  const before = state.targets.get(target.id);
  state.targets.set(target.id, target);
  if (before && PENDING.has(before.status) && target.status === "predicted") toast(`Target #${target.id}: box found (score ${target.prediction.score.toFixed(2)})`, "success", 3000);
  if (before && PENDING.has(before.status) && target.status === "failed") toast(`Target #${target.id} failed: ${target.error}`, "error");
  if (target.id === state.selected) {
    drawTarget(target, before?.status !== target.status);
    renderSelected(target);
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
      while (PENDING.has(target.status) && countPending() === 1) {
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
drone.map.on("click", async (event) => {
  const image = drone.image;
  const basemap = base.basemap;
  if (!image) return;
  const { x, y } = drone.toPixel(event.latlng);
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
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
  } catch (failure) {
    toast(failure.message, "error");
  }
});

$("basemap-select").addEventListener("change", (event) => {
  const basemap = state.basemaps.find((b) => b.id === Number(event.target.value));
  if (basemap) base.show(basemap);
});
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
function uploadRow(name) {
  const bar = el("progress", { max: 1, value: 0 });
  const status = el("span", { class: "small muted" }, "uploading…");
  const row = el("li", { dataset: { upload: name } }, el("div", { class: "small" }, name), bar, status);
  $("uploads").prepend(row);
  return {
    progress: (fraction) => { bar.value = fraction; },
    say: (text, kind = "muted") => { status.textContent = text; status.className = `small ${kind}`; row.dataset.state = kind; },
  };
}

function watchIngest(id, row) {
  poll(async () => {
    const basemap = await api(`basemaps/${id}/`);
    const index = state.basemaps.findIndex((b) => b.id === id);
    if (index >= 0) state.basemaps[index] = basemap;
    else state.basemaps.unshift(basemap);
    if (row) {
      row.progress(basemap.progress ?? 0);
      row.say(basemap.status === "failed" ? `ingest failed: ${basemap.error}` : `ingest ${basemap.status}${basemap.message ? `: ${basemap.message}` : ""}`,
        basemap.status === "failed" ? "error" : basemap.status === "succeeded" ? "ok" : "muted");
    }
    if (basemap.status === "succeeded" || basemap.status === "failed") {
      renderBasemaps();
      return true;
    }
    return false;
  }, 1000);
}

$("upload-basemaps").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const files = [...form.files.files];
  if (!files.length) return toast("Choose one or more basemap files first.", "error");
  for (const file of files) {
    const row = uploadRow(file.name);
    const data = new FormData();
    data.append("mission", missionId);
    data.append("file", file);
    if (!/\.tiff?$/i.test(file.name) && form.bounds.value.trim()) data.append("bounds", form.bounds.value.trim());
    try {
      const basemap = await upload("basemaps/", data, row.progress);
      row.say("uploaded; ingest queued");
      state.basemaps.unshift(basemap);
      watchIngest(basemap.id, row);
    } catch (failure) {
      row.say(failure.message, "error");
    }
  }
  form.reset();
});

$("upload-drone").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const files = [...form.files.files];
  if (!files.length) return toast("Choose one or more drone images first.", "error");
  for (const file of files) {
    const row = uploadRow(file.name);
    const data = new FormData();
    data.append("mission", missionId);
    data.append("file", file);
    try {
      const image = await upload("drone-images/", data, row.progress);
      row.progress(1);
      row.say(image.has_gps ? "done · GPS from EXIF" : "done · no GPS in EXIF", "ok");
      if (!state.images.some((i) => i.id === image.id)) state.images.push(image);
      showImage(image);
    } catch (failure) {
      row.say(failure.message, "error");
    }
  }
  form.reset();
});

load().catch((failure) => toast(failure.message, "error"));
