// The workspace's Upload panel: basemaps (with their bounds, checked on an overview map as they are typed) and
// drone images, a progress row per file, the basemap ingest followed until it is ready or failed. Refused files
// stay chosen in the form, with the bounds typed, so they can be fixed and sent again.
import { api, upload } from "./api.js";
import { setupBoundsPanel } from "./bounds_panel.js";
import { el, poll, toast } from "./ui.js";

const $ = (id) => document.getElementById(id);
const DONE = new Set(["succeeded", "failed", "cancelled"]);

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

// The words for a photo whose GPS lies far from every basemap of its mission (null when it does not).
export function farFromBasemaps(image) {
  const km = image.gps_off_basemaps_km;
  if (km === null || km === undefined || km <= FAR_KM) return null;
  const distance = km >= 10 ? `${Math.round(km).toLocaleString("en")} km` : `${km.toFixed(1)} km`;
  return `its GPS is ${distance} from every basemap of this mission: a click on it searches the whole basemap. Is it this mission's photo?`;
}
const FAR_KM = 1;  // missions/gps_check.py FAR_KM

// After a batch: clear the form when every file went through; otherwise keep the refused files (and the bounds
// typed) so the user can fix the cause and press Upload again.
function keepRefused(form, refused) {
  if (!refused.length) return form.reset();
  const kept = new DataTransfer();
  for (const file of refused) kept.items.add(file);
  form.files.files = kept.files;
}

// Sends each file of the form through `send(file, row)`; returns the files the server refused.
async function sendEach(form, send) {
  const refused = [];
  for (const file of [...form.files.files]) {
    const row = uploadRow(file.name);
    try {
      await send(file, row);
    } catch (failure) {
      row.say(failure.message, "error");
      refused.push(file);
    }
  }
  keepRefused(form, refused);
}

function ingestWords(basemap) {
  if (basemap.status === "failed") return [`ingest failed: ${basemap.error}`, "error"];
  const words = `ingest ${basemap.status}${basemap.message ? `: ${basemap.message}` : ""}`;
  return [words, basemap.status === "succeeded" ? "ok" : "muted"];
}

// ctx: { missionId, state (the workspace's: basemaps, images), renderBasemaps(), showImage(image) }.
// Returns { watchIngest(id, row) } so the workspace can follow ingests already running when the page opens.
export function setupUploads(ctx) {
  const { missionId, state } = ctx;
  const basemapForm = $("upload-basemaps");
  const bounds = setupBoundsPanel(basemapForm.bounds, state);

  function watchIngest(id, row) {
    poll(async () => {
      const basemap = await api(`basemaps/${id}/`);
      const index = state.basemaps.findIndex((b) => b.id === id);
      if (index >= 0) state.basemaps[index] = basemap;
      else state.basemaps.unshift(basemap);
      if (row) {
        row.progress(basemap.progress ?? 0);
        row.say(...ingestWords(basemap));
      }
      if (DONE.has(basemap.status)) ctx.renderBasemaps();
      return DONE.has(basemap.status);
    }, 1000);
  }

  async function sendBasemap(file, row) {
    const data = new FormData();
    data.append("mission", missionId);
    data.append("file", file);
    const typed = basemapForm.bounds.value.trim();
    if (!/\.tiff?$/i.test(file.name) && typed) data.append("bounds", typed);
    const basemap = await upload("basemaps/", data, row.progress);
    row.say("uploaded; ingest queued");
    state.basemaps.unshift(basemap);
    watchIngest(basemap.id, row);
  }

  async function sendDroneImage(file, row) {
    const data = new FormData();
    data.append("mission", missionId);
    data.append("file", file);
    const image = await upload("drone-images/", data, row.progress);
    row.progress(1);
    const far = farFromBasemaps(image);
    if (far) row.say(`done · ${far}`, "warn");
    else row.say(image.has_gps ? "done · GPS from EXIF" : "done · no GPS in EXIF", "ok");
    if (!state.images.some((i) => i.id === image.id)) state.images.push(image);
    ctx.showImage(image);
  }

  basemapForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!basemapForm.files.files.length) return toast("Choose one or more basemap files first.", "error");
    await sendEach(basemapForm, sendBasemap);
    bounds.refresh();
  });
  $("upload-drone").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!event.target.files.files.length) return toast("Choose one or more drone images first.", "error");
    await sendEach(event.target, sendDroneImage);
  });
  return { watchIngest };
}

// The basemap picker's option text (name, size, upload day), for the workspace header.
export { basemapLabel } from "./basemap_label.js";
