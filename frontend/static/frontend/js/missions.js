// The mission list with target counts per status, and the form that creates a mission.
import { all, api } from "./api.js";
import { badge, el, toast } from "./ui.js";

const STATUSES = ["queued", "running", "predicted", "approved", "corrected", "rejected", "failed"];
const CAN_EDIT = new Set(["operator", "reviewer", "admin"]);

async function render() {
  const [me, missions] = await Promise.all([api("me/"), all("missions/")]);
  const teams = new Map(me.teams.map((team) => [team.id, team]));
  const body = document.querySelector("#missions tbody");
  body.replaceChildren(
    ...missions.map((mission) =>
      el("tr", { dataset: { mission: mission.id } },
        el("td", {}, el("a", { href: `/missions/${mission.id}/` }, mission.name),
          mission.description ? el("div", { class: "muted small" }, mission.description) : null),
        el("td", {}, teams.get(mission.team)?.name || ""),
        el("td", {}, el("div", { class: "counts" },
          el("span", { class: "muted" }, `${mission.counts.total || 0} in all`),
          STATUSES.filter((s) => mission.counts[s]).map((s) => el("span", {}, badge(s), ` ${mission.counts[s]}`)))),
        el("td", { class: "muted small" }, new Date(mission.created_at).toLocaleString()),
        el("td", {}, el("a", { href: `/missions/${mission.id}/review/` }, "Review")),
      ),
    ),
  );
  if (!missions.length) body.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No missions yet.")));
  const select = document.querySelector("#create-mission select[name=team]");
  const editable = me.teams.filter((team) => CAN_EDIT.has(team.my_role));
  select.replaceChildren(...editable.map((team) => el("option", { value: team.id }, team.name)));
  document.getElementById("create-mission-card").hidden = editable.length === 0;
}

document.getElementById("create-mission").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const error = document.getElementById("create-mission-error");
  error.textContent = "";
  try {
    const mission = await api("missions/", {
      method: "POST",
      body: { team: Number(form.get("team")), name: form.get("name"), description: form.get("description") },
    });
    toast(`Mission “${mission.name}” created`, "success");
    window.location.href = `/missions/${mission.id}/`;
  } catch (failure) {
    error.textContent = failure.message;
  }
});

render().catch((failure) => toast(failure.message, "error"));
