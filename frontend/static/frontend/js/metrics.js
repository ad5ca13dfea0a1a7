// The model metrics the console shows, and how one is written: the number, how many labels it was measured on and
// the set those labels were (shared by the versions table, a run's before/after table and the learning curve).
import { el } from "./ui.js";

export const percent = (v) => `${(v * 100).toFixed(1)} %`;
const pixels = (v) => `${v.toFixed(1)} px`;
export const METRICS = [
  { key: "acc@0.25", label: "acc@0.25", format: percent, higher: true },
  { key: "acc@0.5", label: "acc@0.5", format: percent, higher: true },
  { key: "mIoU", label: "mIoU", format: percent, higher: true },
  { key: "center_px", label: "centre error", format: pixels, higher: false },
];

export function metricText(metrics, metric) {
  const value = metrics?.[metric.key];
  return typeof value === "number" && Number.isFinite(value) ? metric.format(value) : "—";
}

// How many labels a set of metrics was measured on (null when it does not say).
export const sampleCount = (metrics) => (typeof metrics?.n === "number" ? metrics.n : null);

// A metric as a table cell's content: the number, then "n = 24" small; greyed (class "weak") when measured on fewer
// labels than `minN` or on an unknown number, with the set and the reason in its tooltip.
export function metricCell(metrics, metric, minN) {
  const text = metricText(metrics, metric);
  if (text === "—") return text;
  const n = sampleCount(metrics);
  const weak = n === null || n < minN;
  const on = metrics.set?.name ? ` (${metrics.set.name})` : "";
  const title = weak
    ? `measured on ${n ?? "an unknown number of"} labels${on}: fewer than the ${minN} a number needs to be trusted`
    : `measured on ${n} labels${on}`;
  return el("span", { class: weak ? "metric weak" : "metric", title }, text, el("span", { class: "metric-n" }, ` n = ${n ?? "?"}`));
}

// Where a set of metrics was measured: the set's name and its id (two numbers with one id share their labels).
export function measuredOn(metrics) {
  const set = metrics?.set;
  if (!set) return el("span", { class: "muted small" }, Object.keys(metrics || {}).length ? "not recorded" : "—");
  return el("span", { class: "small measured-on" }, set.name, el("div", { class: "muted" }, set.id));
}

// The change from `before` to `after` of one metric, green when it got better and red when worse ("—" when either
// is missing).
export function metricChange(before, after, metric) {
  if (typeof before !== "number" || typeof after !== "number") return "—";
  const delta = after - before;
  const better = metric.higher ? delta > 0 : delta < 0;
  const text = metric.format === percent ? `${(delta * 100).toFixed(1)} pts` : `${delta.toFixed(1)} px`;
  return el("span", { class: delta === 0 ? "muted" : better ? "better" : "worse" }, delta > 0 ? `+${text}` : text);
}
