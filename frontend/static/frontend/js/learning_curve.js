// The team's learning curve: every fine-tuning run, oldest first, as its own pair of points: held-out acc@0.5 of its
// base version and of the version it made, both measured on that run's own held-out labels, against how many of the
// team's reviewed labels each was trained on (the base: the labels of the team's run that made it, 0 for a base
// model; the new version: the labels the run froze). Two runs are measured on different sets, so no line joins them:
// each run is one short segment from its base to its new version. Under the chart (plot.js), the same numbers as a
// table, each with its n and its set; a number that is missing (the run failed, was cancelled, is still running, or
// had no held-out labels) is left out of the chart and the table says why in words.
import { METRICS, metricCell, metricChange } from "./metrics.js";
import { lineChart } from "./plot.js";
import { el } from "./ui.js";

const ACC = METRICS.find((metric) => metric.key === "acc@0.5");
let drawn = null; // what the chart shows now: polling redraws it only when a run changed

const $ = (selector) => document.querySelector(selector);

// acc@0.5 of a set of metrics measured on at least one label; null otherwise.
function accuracy(metrics) {
  const value = metrics?.[ACC.key];
  return Number.isFinite(value) && metrics.n > 0 ? value : null;
}

// Why a run has no acc@0.5 for one of its versions, in words.
function missingWhy(run, metrics) {
  if (run.status === "queued" || run.status === "running") return `not measured yet: the run is ${run.status}`;
  if (run.status === "failed") return "not measured: the run failed";
  if (run.status === "cancelled") return "not measured: the run was cancelled";
  if (metrics?.n === 0) return "not measured: no held-out labels (n = 0)";
  return "not recorded";
}

const setText = (set) => (set ? `${set.name}, ${set.id}` : "set not recorded");

// The run's two versions, base first: which, its name, how many labels it was trained on, its metrics.
function ends(run) {
  return [
    { role: "base", version: run.base_version.name, labels: run.base_label_count, metrics: run.base_metrics },
    { role: "new", version: run.result_version?.name ?? "no version registered", labels: run.dataset.label_count,
      metrics: run.new_metrics },
  ];
}

function runSeries(run) {
  const points = ends(run).filter((end) => accuracy(end.metrics) !== null).map((end) => [
    end.labels, accuracy(end.metrics),
    `run #${run.id}, ${end.role} ${end.version}, trained on ${end.labels} labels: acc@0.5 ${ACC.format(accuracy(end.metrics))} ` +
      `on n = ${end.metrics.n} (${setText(end.metrics.set)})`,
  ]);
  const set = run.new_metrics?.set || run.base_metrics?.set;
  return { name: `run #${run.id}`, title: `run #${run.id}: base → new, both on ${setText(set)}`, points };
}

function chart(runs) {
  return el("figure", { class: "run-chart", dataset: { chart: "learning curve" } },
    lineChart(runs.map(runSeries), {
      xLabel: "reviewed labels trained on", yLabel: "held-out acc@0.5", yDomain: [0, 1],
      title: "learning curve: held-out acc@0.5 of each run's base and new version against the labels trained on",
    }),
    el("figcaption", {},
      "Each run is one segment: from its base version (at the labels the base was trained on; 0 for a base model) " +
      "to the version it made, both measured on that run's own held-out labels. Runs are measured on different " +
      "sets: compare the two ends of a run, not one run with another. The set and n of each point are in its " +
      "tooltip and in the table."));
}

function cell(run, end) {
  const value = accuracy(end.metrics) === null
    ? el("span", { class: "muted small missing" }, missingWhy(run, end.metrics))
    : metricCell(end.metrics, ACC, run.metrics_min_n);
  return el("td", { class: "num" }, value, el("div", { class: "muted small" }, end.version));
}

function row(run, onSelect) {
  const [base, next] = ends(run);
  const set = run.new_metrics?.set || run.base_metrics?.set;
  const change = accuracy(base.metrics) !== null && accuracy(next.metrics) !== null
    ? metricChange(base.metrics[ACC.key], next.metrics[ACC.key], ACC) : "—";
  return el("tr", { dataset: { run: run.id } },
    el("th", { scope: "row" }, el("a", {
      href: `?team=${run.team}&run=${run.id}`, onclick: (event) => { event.preventDefault(); onSelect(run.id); },
    }, `run #${run.id}`)),
    el("td", { class: "num labels" }, `${base.labels} → ${next.labels}`),
    el("td", { class: "small" }, set ? [set.name, el("div", { class: "muted" }, set.id)] : el("span", { class: "muted" }, "—")),
    cell(run, base), cell(run, next),
    el("td", { class: "num" }, change));
}

function table(runs, onSelect) {
  return el("table", { class: "curve-table" },
    el("caption", { class: "muted small" }, "acc@0.5 of each run's base and new version, on the run's own held-out labels"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Run"),
      el("th", { scope: "col", class: "num" }, "Labels trained on (base → new)"), el("th", { scope: "col" }, "Measured on"),
      el("th", { scope: "col", class: "num" }, "Base"), el("th", { scope: "col", class: "num" }, "New"),
      el("th", { scope: "col", class: "num" }, "Change"))),
    el("tbody", {}, runs.map((run) => row(run, onSelect))));
}

// The runs that the chart leaves out, whole or in part, and why.
function notDrawn(runs) {
  const left = runs.flatMap((run) => ends(run).filter((end) => accuracy(end.metrics) === null)
    .map((end) => `run #${run.id} ${end.role}: ${missingWhy(run, end.metrics)}`));
  return left.length ? el("p", { class: "muted small", id: "curve-missing" }, `Not drawn: ${left.join("; ")}.`) : null;
}

// Draw the curve of `runs` (as the API lists them, newest first) into #learning-curve; `onSelect(runId)` opens a run.
export function renderLearningCurve(runs, { onSelect }) {
  const oldestFirst = [...runs].sort((a, b) => new Date(a.created_at) - new Date(b.created_at) || a.id - b.id);
  const key = JSON.stringify(oldestFirst.map((run) => [run.id, run.status, run.base_label_count,
    run.dataset.label_count, run.base_metrics, run.new_metrics, run.result_version?.name]));
  if (key === drawn) return;
  drawn = key;
  const box = $("#learning-curve");
  if (!oldestFirst.length) {
    box.replaceChildren(el("p", { class: "muted" }, "No fine-tuning runs yet: the curve starts with the team's first."));
    return;
  }
  box.replaceChildren(el("div", { class: "curve" }, chart(oldestFirst), table(oldestFirst, onSelect)), notDrawn(oldestFirst));
}
