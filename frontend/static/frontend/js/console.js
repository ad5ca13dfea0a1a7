// Models & team: a team's model versions (activate, roll back), its fine-tuning runs (training.js) and its members
// and roles. Admins change things; other members read. The server enforces the roles anyway: every refusal comes
// back as an ApiError whose message is shown as it is.
import { all, api } from "./api.js";
import { METRICS, measuredOn, metricCell, sampleCount } from "./metrics.js";
import { selectRun, setBaseChoices, showRuns, stopRuns } from "./training.js";
import { showMembers } from "./members.js";
import { el, toast, when } from "./ui.js";

const state = { me: null, team: null, versions: [], activations: [] };

const $ = (selector) => document.querySelector(selector);
const isAdmin = () => state.team?.my_role === "admin";
const aRole = (role) => `${/^[aeiou]/.test(role) ? "an" : "a"} ${role}`;
const onlyAdmins = (what) => `only team admins can ${what}; you are ${aRole(state.team?.my_role)} in this team`;
const failed = (error) => toast(error.message, "error");

// ------------------------------------------------------------------------------------------- team
async function start() {
  state.me = await api("me/");
  const picker = $("#team-picker");
  picker.replaceChildren(
    ...state.me.teams.map((team) => el("option", { value: team.id }, `${team.name} (${team.my_role})`)),
  );
  if (!state.me.teams.length) {
    $("#no-teams").hidden = false;
    picker.disabled = true;
    return;
  }
  const params = new URLSearchParams(window.location.search);
  const wanted = state.me.teams.find((team) => String(team.id) === params.get("team")) || state.me.teams[0];
  picker.value = wanted.id;
  const run = String(wanted.id) === params.get("team") ? Number(params.get("run")) || null : null;
  await chooseTeam(wanted.id, run);
}

// The team in the address (?team=), so that a reload or a shared link opens the same team (and run: ?run=).
function remember(selectedRun) {
  const params = new URLSearchParams(window.location.search);
  params.set("team", state.team.id);
  if (!selectedRun) params.delete("run");
  window.history.replaceState(null, "", `?${params}`);
}

async function chooseTeam(teamId, selectedRun = null) {
  stopRuns();
  state.team = state.me.teams.find((team) => team.id === teamId);
  remember(selectedRun);
  $("#console").hidden = false;
  applyRole();
  const runs = showRuns(state.team, { admin: isAdmin(), selectedRun, onFinished: loadVersions });
  const members = showMembers(state.team, state.me, { admin: isAdmin(), onSelfChanged: reloadMe });
  await Promise.all([loadVersions(), runs, members]);
}

// My role may have changed (an admin who demoted or removed themselves): read /me/ again and re-draw all.
async function reloadMe() {
  stopRuns();
  $("#console").hidden = true;
  await start();
}

function applyRole() {
  const admin = isAdmin();
  $("#my-role").textContent = admin
    ? "you are an admin of this team"
    : `you are ${aRole(state.team.my_role)} here: you can look; only team admins can change models, runs and members`;
  for (const [form, what] of [["#start-run", "start fine-tuning"]]) {
    for (const control of $(form).elements) {
      control.disabled = !admin;
      control.title = admin ? "" : onlyAdmins(what);
    }
  }
}

// ------------------------------------------------------------------------------------------- versions
async function loadVersions() {
  const team = state.team.id;
  const [versions, activations] = await Promise.all([
    all(`model-versions/?team=${team}`),
    all(`model-versions/activations/?team=${team}`),
  ]);
  if (state.team.id !== team) return;
  Object.assign(state, { versions, activations });
  renderVersions();
  setBaseChoices(versions);
}

// The version a rollback goes back to: the activation history replayed as the server does (an activation pushes
// its version, a rollback pops back to its version); the one below the top of the stack.
function rollbackTarget() {
  const stack = [];
  for (const activation of [...state.activations].reverse()) {
    const id = activation.model_version.id;
    if (activation.reason === "rollback") {
      while (stack.length && stack[stack.length - 1] !== id) stack.pop();
      if (!stack.length) stack.push(id);
    } else if (stack[stack.length - 1] !== id) {
      stack.push(id);
    }
  }
  const active = state.versions.find((v) => v.is_active);
  if (stack.length < 2 || !active || stack[stack.length - 1] !== active.id) return null;
  const id = stack[stack.length - 2];
  return state.versions.find((v) => v.id === id) || { id, name: `version ${id}` };
}

function renderVersions() {
  const active = state.versions.find((v) => v.is_active);
  $("#active-summary").textContent = active
    ? `New clicks run on ${active.name}` +
      (active.promoted_at ? `, active since ${when(active.promoted_at)} (${active.promoted_by || "automatic"}).` : ".")
    : "No active version: clicks fail until an admin activates one.";
  if (state.team.auto_promote) {
    $("#active-summary").textContent += " Auto-promote is on: a fine-tuned version becomes active by itself " +
      `when it beats its base beyond noise on at least ${state.versions[0]?.metrics_min_n ?? 20} held-out labels.`;
  }
  const body = $("#versions tbody");
  body.replaceChildren(...state.versions.map(versionRow));
  if (!state.versions.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 11, class: "muted" }, "No model versions yet.")));
  }
  renderRollback();
  renderActivations();
}

function versionRow(version) {
  const owner = version.shared ? "shared" : state.team.name;
  return el("tr", { dataset: { version: version.id }, class: version.is_active ? "active-version" : null },
    el("td", {}, version.is_active ? el("span", { class: "active-marker", title: "the version new clicks run on" },
      "● active") : null),
    el("td", {}, el("strong", {}, version.name), el("div", { class: "muted small" }, version.sha256.slice(0, 12))),
    el("td", {}, version.shared ? el("span", { class: "tag" }, owner) : owner),
    el("td", { class: "small" }, when(version.created_at),
      version.created_by ? el("div", { class: "muted" }, `by ${version.created_by}`) : null),
    el("td", { class: "small" }, lineage(version)),
    METRICS.map((metric) => el("td", { class: "num" }, metricCell(version.metrics, metric, version.metrics_min_n))),
    el("td", {}, measuredOn(version.metrics)),
    el("td", {}, activateButton(version)),
  );
}

function lineage(version) {
  const parts = [];
  if (version.parent) parts.push(el("div", {}, `from ${version.parent.name}`));
  if (version.training_run) {
    parts.push(el("div", {}, el("a", {
      href: `?team=${state.team.id}&run=${version.training_run}`,
      onclick: (event) => { event.preventDefault(); selectRun(version.training_run); },
    }, `fine-tuned in run #${version.training_run}`)));
  }
  return parts.length ? parts : el("span", { class: "muted" }, "base model");
}

function activateButton(version) {
  if (version.is_active || !isAdmin()) return null;
  return el("button", { type: "button", class: "activate", onclick: () => activate(version) }, "Activate");
}

// What the Activate dialog says about the evidence: weak when compared with the base on too few held-out labels, or
// when the gain is within noise; nothing to add for a base model or a convincing comparison.
export function activationCaveat(version) {
  const comparison = version.comparison;
  const minN = version.metrics_min_n;
  if (comparison) {
    if (comparison.weak) {
      return `\n\nCaution: the comparison with its base is weak: ${comparison.n} held-out labels, fewer than the ${minN} ` +
        `it needs (${comparison.verdict}).`;
    }
    if (!comparison.beyond_noise) return `\n\nCaution: ${comparison.verdict}.`;
    return `\n\n${comparison.verdict}.`;
  }
  const n = sampleCount(version.metrics);
  if (n === null || n < minN) {
    return `\n\nCaution: its metrics were measured on ${n ?? "an unknown number of"} labels, fewer than ${minN}.`;
  }
  return "";
}

async function activate(version) {
  const question = `Activate ${version.name} for ${state.team.name}? New clicks will run on it.${activationCaveat(version)}`;
  if (!window.confirm(question)) return;
  try {
    await api(`model-versions/${version.id}/activate/`, { method: "POST", body: { team: state.team.id } });
    toast(`${version.name} is now the active model`, "success");
  } catch (error) {
    failed(error);
  }
  await loadVersions().catch(failed);
}

function renderRollback() {
  const button = $("#rollback");
  const target = rollbackTarget();
  button.onclick = target ? () => rollback(target) : null;
  button.disabled = !isAdmin() || !target;
  if (!isAdmin()) button.title = onlyAdmins("roll back the model");
  else if (target) button.title = `re-activate ${target.name}, the version active before this one`;
  else button.title = "there is no earlier version to roll back to";
  button.textContent = target ? `Roll back to ${target.name}` : "Roll back";
}

async function rollback(target) {
  if (!window.confirm(`Roll back ${state.team.name} to ${target.name}? New clicks will run on it.`)) return;
  try {
    const activation = await api("model-versions/rollback/", { method: "POST", body: { team: state.team.id } });
    toast(`Rolled back: ${activation.model_version.name} is active again`, "success");
  } catch (error) {
    failed(error);
  }
  await loadVersions().catch(failed);
}

function renderActivations() {
  const list = $("#activations ol");
  list.replaceChildren(...state.activations.slice(0, 20).map((a) => el("li", {},
    el("span", { class: "muted small" }, when(a.created_at)), " ",
    `${a.model_version.name} — ${a.reason} by ${a.activated_by || "the system"}`)));
  if (!state.activations.length) list.replaceChildren(el("li", { class: "muted" }, "Never activated."));
}

$("#team-picker").addEventListener("change", (event) => chooseTeam(Number(event.target.value)).catch(failed));

start().catch(failed);
