// The review queue's choices (order, status, photo, score range), remembered in this browser, and the calls that
// step through the queue they describe: the next target, the one after or before a given one, and how many are left.

import { all, api } from "./api.js";
import { el } from "./ui.js";

const ORDER_KEY = "smgeo.review-order"; // the order alone, for every mission (as before)
const FILTERS = ["status", "drone_image", "score_min", "score_max"];
const STATUS_WORDS = { approved: "approved", corrected: "corrected", rejected: "rejected" };

export function reviewQueue(missionId, onChange) {
  const $ = (id) => document.getElementById(id);
  const controls = {
    order: $("review-order"), status: $("review-status"), drone_image: $("review-photo"),
    score_min: $("review-score-min"), score_max: $("review-score-max"),
  };
  const filtersKey = `smgeo.review-filters.${missionId}`;
  const saved = readJson(localStorage.getItem(filtersKey));
  controls.order.value = localStorage.getItem(ORDER_KEY) || "oldest";
  for (const name of FILTERS) if (typeof saved[name] === "string") controls[name].value = saved[name];
  const remember = () => {
    localStorage.setItem(ORDER_KEY, controls.order.value);
    localStorage.setItem(filtersKey, JSON.stringify(Object.fromEntries(FILTERS.map((name) => [name, controls[name].value]))));
  };
  for (const control of Object.values(controls)) {
    control.addEventListener("change", () => {
      remember();
      control.blur(); // the review keys act on the page again
      onChange();
    });
  }
  const query = (extra = {}) => {
    const params = new URLSearchParams({ mission: missionId });
    for (const [name, control] of Object.entries(controls)) if (control.value) params.set(name, control.value);
    for (const [name, value] of Object.entries(extra)) if (value) params.set(name, value);
    return params.toString();
  };
  return {
    // The queue's target after (or before) the given one, or its first; null when the queue is empty.
    fetch: (around = {}) => api(`targets/next-review/?${query(around)}`),
    get status() { return controls.status.value || "predicted"; },
    async loadPhotos() {
      const wanted = saved.drone_image || "";
      const photos = await all(`drone-images/?mission=${missionId}`);
      controls.drone_image.append(...photos.map((photo) => el("option", { value: photo.id }, photo.original_name)));
      controls.drone_image.value = photos.some((photo) => String(photo.id) === wanted) ? wanted : "";
      return wanted !== controls.drone_image.value; // the remembered photo is gone: the queue changed
    },
  };
}

// "12 of 16 left" (waiting for review) or "3 approved of 16"; the queue is the answer's `queue`.
export function countText(queue, status) {
  if (!queue) return "";
  if (status === "predicted") return `${queue.count} of ${queue.total} left`;
  return `${queue.count} ${STATUS_WORDS[status] || status} of ${queue.total}`;
}

function readJson(text) {
  try {
    const value = JSON.parse(text || "{}");
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}
