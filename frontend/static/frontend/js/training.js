// Fine-tuning runs of a team: the start form, the list with live progress (polled while a run is queued or
// running) and cancel, the selected run's loss and val metric curves and its metrics before/after, and the team's
// learning curve over all its runs (learning_curve.js), drawn again whenever the list is.
import { all, api } from "./api.js";
import { renderLearningCurve } from "./learning_curve.js";
import { METRICS, metricCell, metricChange, sampleCount } from "./metrics.js";
import { lineChart } from "./plot.js";
import { comparisonBlock, forgettingLine, promotionLine } from "./run_outcome.js";
import { badge, counted, el, formatSeconds, poll, toast, when } from "./ui.js";

const ACTIVE = new Set(["queued", "running"]);
const POLL_MS = 1500;

const state = {
  team: null, admin: false, runs: [], selectedRun: null, poller: null, onFinished: null,
  runsStamp: 0, // bumped around a cancel: a list fetched meanwhile may predate it and is dropped
};

const $ = (selector) => document.querySelector(selector);
const failed = (error) => toast(error.message, "error");

// ------------------------------------------------------------------------------------------- runs
// Show a team's runs (again: after a team switch or a change of role); polls while one is queued or running.
export async function showRuns(team, { admin, selectedRun = null, onFinished = async () => {} }) {
  stopRuns();
  Object.assign(state, { team, admin, selectedRun, onFinished, runs: [] });
  $("#run-detail").hidden = true;
  await loadRuns();
}

export function stopRuns() {
  state.poller?.stop();
  state.poller = null;
}

// The base version choices of the start form: the versions the team can run, its active one preselected.
export function setBaseChoices(versions) {
  const select = $("#start-run select[name=base_version]");
  const previous = select.value;
  select.replaceChildren(...versions.map((v) =>
    el("option", { value: v.id, selected: v.is_active }, v.is_active ? `${v.name} (active)` : v.name)));
  if (previous && versions.some((v) => String(v.id) === previous)) select.value = previous;
}

function rememberRun() {
  const params = new URLSearchParams(window.location.search);
  if (state.selectedRun) params.set("run", state.selectedRun);
  else params.delete("run");
  window.history.replaceState(null, "", `?${params}`);
}

async function loadRuns() {
  const team = state.team.id;
  const stamp = state.runsStamp;
  const runs = await all(`training-runs/?team=${team}`);
  if (state.team?.id !== team || state.runsStamp !== stamp) return;
  state.runs = runs;
  renderRuns();
  if (state.selectedRun) await loadRunDetail(state.selectedRun);
  if (runs.some((run) => ACTIVE.has(run.status))) startPolling();
}

function renderRuns() {
  renderLearningCurve(state.runs, { onSelect: selectRun });
  const body = $("#runs tbody");
  body.replaceChildren(...state.runs.map(runRow));
  if (!state.runs.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No fine-tuning runs yet.")));
  }
}

function runRow(run) {
  const cancelling = run.cancel_requested && ACTIVE.has(run.status);
  return el("tr", {
    dataset: { run: run.id, status: run.status }, class: `run-row${run.id === state.selectedRun ? " selected" : ""}`,
    onclick: (event) => { if (!event.target.closest("button")) selectRun(run.id); },
  },
    el("td", {}, `#${run.id}`, el("div", { class: "muted small" }, run.created_by ? `by ${run.created_by}` : "")),
    el("td", {}, badge(run.status), cancelling ? el("div", { class: "muted small cancelling" }, "cancelling…") : null),
    el("td", { class: "small" }, run.base_version.name, " → ",
      run.result_version ? el("strong", {}, run.result_version.name) : el("span", { class: "muted" }, "—")),
    el("td", { class: "num" }, String(run.dataset.label_count)),
    el("td", { class: "run-progress" }, progressCell(run)),
    el("td", { class: "small" }, when(run.started_at || run.created_at)),
    el("td", {}, cancelButton(run, cancelling)),
  );
}

function progressCell(run) {
  if (run.status === "failed") return el("div", { class: "error run-error" }, run.error || run.message);
  if (!ACTIVE.has(run.status)) return el("span", { class: "muted small" }, run.message);
  if (run.status === "queued" || !run.total_steps) {
    const waiting = el("progress", { "aria-label": `run ${run.id} progress` }); // no value: indeterminate
    return [waiting, el("div", { class: "muted small" }, run.message)];
  }
  const epochs = run.params?.epochs;
  const facts = [
    `epoch ${run.epoch}${epochs ? `/${epochs}` : ""}`,
    `step ${run.step}/${run.total_steps}`,
    run.loss !== null ? `loss ${run.loss.toFixed(4)}` : null,
  ].filter(Boolean);
  return [
    el("progress", { value: run.step, max: run.total_steps, "aria-label": `run ${run.id} progress` }),
    el("div", { class: "small" }, facts.join(" · "),
      run.eta_s !== null ? el("span", { class: "eta" }, ` · ETA ${formatSeconds(run.eta_s)}`) : null),
  ];
}

function cancelButton(run, cancelling) {
  if (!ACTIVE.has(run.status) || !state.admin) return null;
  return el("button", {
    type: "button", class: "cancel danger", disabled: cancelling, onclick: (event) => cancel(run, event.target),
  }, cancelling ? "cancelling…" : "Cancel");
}

async function cancel(run, button) {
  if (!window.confirm(`Cancel fine-tuning run #${run.id}? Its progress is lost.`)) return;
  button.disabled = true;
  button.textContent = "cancelling…";
  state.runsStamp += 1;
  try {
    const updated = await api(`training-runs/${run.id}/cancel/`, { method: "POST" });
    state.runsStamp += 1;
    state.runs = state.runs.map((r) => (r.id === updated.id ? updated : r));
    renderRuns();
    startPolling();
  } catch (error) {
    failed(error);
    await loadRuns().catch(failed);
  }
}

$("#start-run").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const lr = form.get("lr");
  const optional = (name) => (form.get(name) === "" ? null : Number(form.get(name)));
  const body = {
    team: state.team.id,
    base_version: form.get("base_version") ? Number(form.get("base_version")) : null,
    steps: optional("steps"),
    epochs: optional("epochs"),
    batch_size: Number(form.get("batch_size")),
    lr: lr === "" ? null : Number(lr),
    replay: Number(form.get("replay") || 0),
  };
  try {
    const run = await api("training-runs/", { method: "POST", body });
    toast(`Fine-tuning run #${run.id} queued on ${counted(run.dataset.label_count, "label")}`, "success");
    state.selectedRun = run.id;
    rememberRun();
    await loadRuns();
  } catch (error) {
    failed(error);
  }
});

// While a run is queued or running: the list (and the selected run's curves) every POLL_MS; when a run finishes,
// the versions too (it registered one; auto-promotion may have activated it).
function startPolling() {
  if (state.poller) return;
  const team = state.team.id;
  const activeIds = () => new Set(state.runs.filter((r) => ACTIVE.has(r.status)).map((r) => r.id));
  let activeBefore = activeIds();
  let first = true;
  state.poller = poll(async () => {
    if (state.team?.id !== team) return true;
    if (first) { // poll() calls at once; the list was just loaded
      first = false;
      return false;
    }
    await loadRuns();
    const activeNow = activeIds();
    if ([...activeBefore].some((id) => !activeNow.has(id))) await state.onFinished();
    activeBefore = activeNow;
    const done = activeNow.size === 0;
    if (done) state.poller = null;
    return done;
  }, POLL_MS);
}

export async function selectRun(runId) {
  state.selectedRun = runId;
  rememberRun();
  renderRuns();
  await loadRunDetail(runId).catch(failed);
  $("#run-detail").scrollIntoView({ block: "nearest" });
}

async function loadRunDetail(runId) {
  const run = await api(`training-runs/${runId}/`);
  if (state.selectedRun !== runId) return;
  renderRunDetail(run);
}

// ------------------------------------------------------------------------------------------- run detail
function renderRunDetail(run) {
  const box = $("#run-detail");
  const logOpen = box.querySelector("details.run-log")?.open || false;
  const lr = run.params?.lr;
  box.hidden = false;
  box.dataset.run = run.id;
  box.replaceChildren(...[ // a part with nothing to say is null: left out, never written as "null"
    el("div", { class: "row" },
      el("h3", { class: "grow" }, `Run #${run.id} `, badge(run.status)),
      el("button", { type: "button", onclick: () => closeRun() }, "Close")),
    el("p", { class: "small" },
      `Base ${run.base_version.name}; ${budget(run.params || {})}, batch size ${run.params?.batch_size}, `,
      `learning rate ${lr ?? "a tenth of the base's"}` +
        (run.params?.replay ? `, ${Math.round(run.params.replay * 100)} % replay of the base data` : "") +
        `; ${run.dataset.label_count} labels frozen `,
      el("code", {}, (run.dataset.hash || "").slice(0, 12)), ". ",
      run.result_version ? ["Result: ", el("strong", { class: "result-version" }, run.result_version.name), ". "] : "",
      el("span", { class: "muted" }, run.message)),
    run.status === "failed" ? el("p", { class: "error run-error" }, run.error) : "",
    el("div", { class: "run-charts" }, curves(run.history || [])),
    metricsTable(run),
    promotionLine(run),
    forgettingLine(run.forgetting),
    el("details", { class: "run-log", open: logOpen }, el("summary", {}, "Log"), el("pre", {}, run.log || "(empty)")),
  ].filter((part) => part !== null));
}

// How long a run trains: its steps or epochs as asked, else the fine-tune recipe's own budget.
function budget(params) {
  if (params.steps) return counted(params.steps, "step");
  return params.epochs ? counted(params.epochs, "epoch") : "the fine-tune recipe's steps";
}

function closeRun() {
  state.selectedRun = null;
  rememberRun();
  $("#run-detail").hidden = true;
  renderRuns();
}

function curves(history) {
  const train = history.filter((e) => e.kind === "train");
  const val = history.filter((e) => e.kind === "val");
  const points = (entries, key) => entries.map((e) => [e.step, e[key]]);
  const figure = (title, chart) => el("figure", { class: "run-chart", dataset: { chart: title } },
    el("figcaption", {}, title), chart);
  const charts = [
    figure("training loss", lineChart([{ name: "loss", points: points(train, "loss") }],
      { xLabel: "step", yLabel: "loss", title: "training loss" })),
    figure("validation", lineChart(METRICS.slice(0, 3).map((m) => ({ name: m.label, points: points(val, m.key) })),
      { xLabel: "step", yLabel: "share of val samples", title: "validation metrics", yDomain: [0, 1] })),
  ];
  if (val.some((e) => typeof e.center_px === "number")) {
    charts.push(figure("centre error", lineChart([{ name: "centre error (px)", points: points(val, "center_px") }],
      { xLabel: "step", yLabel: "pixels", title: "validation centre error" })));
  }
  return charts;
}

function metricsTable(run) {
  const before = run.base_metrics || {};
  const after = run.new_metrics || {};
  if (!Object.keys(before).length && !Object.keys(after).length) {
    return el("p", { class: "muted small" }, "Metrics before/after appear when the run has finished.");
  }
  const minN = run.metrics_min_n;
  const on = after.set || before.set;
  const heading = on ? `on ${on.name} (n = ${sampleCount(after) ?? "?"})` : "metric";
  return el("div", {}, el("table", { class: "metrics-compare" },
    el("thead", {}, el("tr", {}, el("th", {}, heading),
      el("th", { class: "num" }, `before (${run.base_version.name})`),
      el("th", { class: "num" }, `after${run.result_version ? ` (${run.result_version.name})` : ""}`),
      el("th", { class: "num" }, "change"))),
    el("tbody", {}, METRICS.map((metric) => el("tr", { dataset: { metric: metric.key } },
      el("td", {}, metric.label),
      el("td", { class: "num" }, metricCell(before, metric, minN)),
      el("td", { class: "num" }, metricCell(after, metric, minN)),
      el("td", { class: "num" }, metricChange(before[metric.key], after[metric.key], metric))))),
  ), comparisonBlock(run));
}
