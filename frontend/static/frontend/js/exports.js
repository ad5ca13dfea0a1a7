// A mission's exports: the GeoJSON of its predicted targets (fetched, then saved as a file) and the CVOGL-layout
// dataset zip, an export job followed with a progress bar until its download link appears or its error shows.
import { api } from "./api.js";
import { el, poll } from "./ui.js";

const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

// Saves JSON as a file through a temporary link (the browser's own download, no navigation).
function saveJson(body, filename) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(body)], { type: "application/geo+json" }));
  const link = el("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// What a CVOGL export job looks like in the status line: progress while it runs, the link once done.
function jobView(job) {
  if (job.status === "succeeded") {
    return [el("a", { href: job.download_url, class: "export-download", download: "" }, `Download zip (${job.item_count} pairs)`)];
  }
  if (job.status === "failed") return [el("span", { class: "error small" }, `Export failed: ${job.error}`)];
  if (job.status === "cancelled") return [el("span", { class: "muted small" }, "Export cancelled.")];
  return [
    el("progress", { max: 1, value: job.progress || 0 }),
    el("span", { class: "small muted" }, `export ${job.status}${job.message ? `: ${job.message}` : ""}`),
  ];
}

// The export controls of one mission. latest: its newest export job, if any (shown at once, followed if running).
export function exportControls(mission, { canExport, latest }) {
  const status = el("div", { class: "export-status", "aria-live": "polite" });
  const show = (...parts) => status.replaceChildren(...parts);
  const follow = (job) => {
    show(...jobView(job));
    if (FINISHED.has(job.status)) return;
    poll(async () => {
      const now = await api(`exports/${job.id}/`);
      show(...jobView(now));
      return FINISHED.has(now.status);
    }, 1000);
  };
  const geojson = async () => {
    try {
      saveJson(await api(`missions/${mission.id}/export.geojson`), `${slug(mission.name) || `mission-${mission.id}`}.geojson`);
    } catch (failure) {
      show(el("span", { class: "error small" }, failure.message));
    }
  };
  const cvogl = async () => {
    show(el("span", { class: "small muted" }, "starting the export…"));
    try {
      follow(await api("exports/", { method: "POST", body: { mission: mission.id } }));
    } catch (failure) {
      if (failure.status === 409 && failure.body.export) return follow(await api(`exports/${failure.body.export}/`));
      show(el("span", { class: "error small" }, failure.message));
    }
  };
  if (latest) follow(latest);
  return el("div", { class: "exports" },
    el("button", { type: "button", class: "export-geojson", onclick: geojson }, "GeoJSON"),
    canExport ? el("button", { type: "button", class: "export-cvogl", onclick: cvogl }, "CVOGL zip") : null,
    status,
  );
}

// A file name from a mission's name, as the server's Content-Disposition makes it (Django's slugify, Unicode kept).
function slug(name) {
  return name.normalize("NFKC").toLowerCase().replace(/[^\p{L}\p{N}_\s-]/gu, "").replace(/[-\s]+/g, "-").replace(/^[-_]+|[-_]+$/g, "");
}
