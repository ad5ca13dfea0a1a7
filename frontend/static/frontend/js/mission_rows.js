// One row of the missions list: name, team, target counts, created, and its actions — review, exports, and
// archive / unarchive for operators and up (an archived mission takes no new uploads or clicks; reviewing and
// exporting go on).
import { api } from "./api.js";
import { exportControls } from "./exports.js";
import { badge, el, toast } from "./ui.js";

const STATUSES = ["queued", "running", "predicted", "approved", "corrected", "rejected", "failed"];
export const CAN_EDIT = new Set(["operator", "reviewer", "admin"]);

function counts(mission) {
  return el("div", { class: "counts" },
    el("span", { class: "muted" }, `${mission.counts.total || 0} in all`),
    STATUSES.filter((s) => mission.counts[s]).map((s) => el("span", {}, badge(s), ` ${mission.counts[s]}`)));
}

function archiveButton(mission, onChange) {
  const archived = mission.status === "archived";
  const change = async () => {
    try {
      const next = archived ? "active" : "archived";
      const saved = await api(`missions/${mission.id}/`, { method: "PATCH", body: { status: next } });
      toast(`Mission “${saved.name}” ${archived ? "unarchived" : "archived"}`, "success", 3000);
      onChange();
    } catch (failure) {
      toast(failure.message, "error");
    }
  };
  return el("button", { type: "button", class: archived ? "unarchive" : "archive", onclick: change },
    archived ? "Unarchive" : "Archive");
}

// team: the mission's team as /me/ lists it (with my_role); latest: the newest export job of the mission.
export function missionRow(mission, { team, latest, onChange }) {
  const canEdit = CAN_EDIT.has(team?.my_role);
  const archived = mission.status === "archived";
  return el("tr", { dataset: { mission: mission.id, status: mission.status }, class: archived ? "archived" : "" },
    el("td", {}, el("a", { href: `/missions/${mission.id}/` }, mission.name),
      archived ? el("span", {}, " ", badge("archived")) : null,
      mission.description ? el("div", { class: "muted small" }, mission.description) : null),
    el("td", {}, team?.name || ""),
    el("td", {}, counts(mission)),
    el("td", { class: "muted small" }, new Date(mission.created_at).toLocaleString()),
    el("td", {}, exportControls(mission, { canExport: canEdit, latest })),
    el("td", {}, el("div", { class: "row" },
      el("a", { href: `/missions/${mission.id}/review/` }, "Review"),
      canEdit ? archiveButton(mission, onChange) : null)),
  );
}
