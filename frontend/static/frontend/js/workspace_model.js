// The team's active model, named in the workspace; with none, a banner says so (and who can fix it) and the
// page turns clicks on the drone photo off, instead of letting each click fail in the worker.
import { api } from "./api.js";
import { el } from "./ui.js";

const $ = (id) => document.getElementById(id);

// -> { me: {id, username, teams}, model: {id, name} | null }
export async function loadActiveModel(teamId) {
  const me = await api("me/");
  const team = me.teams.find((t) => t.id === teamId);
  let model = null;
  if (team?.active_model) model = await api(`model-versions/${team.active_model}/`);
  showModel(model);
  return { me, model };
}

function showModel(model) {
  $("active-model").replaceChildren(
    el("span", { class: "muted" }, "Model: "),
    model ? el("strong", { dataset: { model: model.id } }, model.name) : el("strong", { class: "error" }, "none active"),
  );
  $("no-model").hidden = Boolean(model);
  $("drone-map").classList.toggle("clicks-off", !model);
}
