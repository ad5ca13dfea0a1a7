// The bounds field of the basemap upload, checked as it is typed: an overview map of the typed box against the
// mission's drone GPS points and basemaps, a warning when no GPS point falls inside, and a one-click fix when
// latitude and longitude look swapped.
import { boundsOverview } from "./bounds_overview.js";
import { checkBounds, formatBounds, gpsPoints, parseBounds } from "./bounds_check.js";
import { el } from "./ui.js";

const $ = (id) => document.getElementById(id);

function message(check) {
  const parts = [];
  if (check.swap) {
    parts.push(el("p", { class: "error small", id: "bounds-swap" },
      `Latitude and longitude look swapped: ${check.swap.why}. `,
      el("button", { type: "button", id: "swap-bounds", title: `Use ${formatBounds(check.swap.bounds)}` }, "Swap them")));
  }
  if (check.outside) {
    parts.push(el("p", { class: "error small", id: "bounds-outside" },
      `None of the mission's ${check.pointCount} drone GPS points falls inside these bounds.`));
  } else if (check.pointCount) {
    parts.push(el("p", { class: "small muted" }, `${check.insideCount} of ${check.pointCount} drone GPS points inside.`));
  }
  return parts;
}

// state: the workspace's { basemaps, images }, read each time the field changes.
export function setupBoundsPanel(input, state) {
  const box = $("bounds-overview");
  const notes = $("bounds-check");
  let overview = null;

  function refresh() {
    const parsed = parseBounds(input.value);
    box.hidden = !parsed.bounds;
    if (parsed.error) return notes.replaceChildren(el("p", { class: "error small" }, parsed.error));
    if (!parsed.bounds) return notes.replaceChildren();
    const points = gpsPoints(state.images);
    const check = checkBounds(parsed.bounds, points);
    overview ||= boundsOverview(box);
    const basemaps = state.basemaps.map((b) => ({ name: b.name, bounds: b.bounds || b.source_bounds }));
    overview.show({ typed: parsed.bounds, doubtful: Boolean(check.swap || check.outside), basemaps, points });
    notes.replaceChildren(...message(check));
    $("swap-bounds")?.addEventListener("click", () => {
      input.value = formatBounds(check.swap.bounds);
      refresh();
    });
  }

  input.addEventListener("input", refresh);
  return { refresh };
}
