// The mission list (active missions; archived ones with "Show archived"), each with its exports and archive
// button, and the form that creates a mission.
import { all, api } from "./api.js";
import { CAN_EDIT, missionRow } from "./mission_rows.js";
import { el, toast } from "./ui.js";

const showArchived = document.getElementById("show-archived");

// The newest export job of each mission: { missionId: job }.
function latestExports(jobs) {
  const latest = {};
  for (const job of jobs) if (!latest[job.mission] || job.id > latest[job.mission].id) latest[job.mission] = job;
  return latest;
}

async function render() {
  const query = showArchived.checked ? "missions/" : "missions/?status=active";
  const [me, missions, jobs] = await Promise.all([api("me/"), all(query), all("exports/")]);
  const teams = new Map(me.teams.map((team) => [team.id, team]));
  const latest = latestExports(jobs);
  const body = document.querySelector("#missions tbody");
  const onChange = () => render().catch((failure) => toast(failure.message, "error"));
  body.replaceChildren(
    ...missions.map((mission) => missionRow(mission, { team: teams.get(mission.team), latest: latest[mission.id], onChange })),
  );
  if (!missions.length) {
    const words = showArchived.checked ? "No missions yet." : "No active missions. Tick “Show archived” to see archived ones.";
    body.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "muted" }, words)));
  }
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

showArchived.addEventListener("change", () => render().catch((failure) => toast(failure.message, "error")));
render().catch((failure) => toast(failure.message, "error"));
