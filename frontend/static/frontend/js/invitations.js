// Models & team, invitations: an admin invites a new person by username and role; the server answers with a
// one-time link (shown once here, to send to the person), which expires and works once. Waiting invitations are
// listed and can be withdrawn. Other members see nothing of them.
import { api } from "./api.js";
import { showOnce, wireOnce } from "./one_time_secret.js";
import { el, toast } from "./ui.js";

const ctx = { team: null };
const $ = (selector) => document.querySelector(selector);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
const failed = (error) => toast(error.message, "error");

export async function showInvitations(team, { admin, why }) {
  ctx.team = team;
  $("#invite-link").hidden = true;
  $("#invite-link-url").value = "";
  for (const control of $("#invite").elements) {
    control.disabled = !admin;
    control.title = admin ? "" : why;
  }
  $("#invitations").hidden = true; // until the team's waiting invitations are read (admins only)
  if (admin) await loadInvitations();
}

async function loadInvitations() {
  const team = ctx.team.id;
  const invitations = await api(`teams/${team}/invitations/`);
  if (ctx.team.id !== team) return;
  $("#invitations tbody").replaceChildren(...invitations.map(invitationRow));
  $("#invitations").hidden = !invitations.length;
}

function invitationRow(invitation) {
  return el("tr", { dataset: { invitation: invitation.id, username: invitation.username } },
    el("td", {}, invitation.username),
    el("td", {}, invitation.role),
    el("td", { class: "small" }, when(invitation.created_at), invitation.created_by ? ` by ${invitation.created_by}` : ""),
    el("td", { class: "small" }, when(invitation.expires_at)),
    el("td", {}, el("button", {
      type: "button", class: "withdraw danger", onclick: () => withdraw(invitation),
    }, "Withdraw")),
  );
}

async function withdraw(invitation) {
  if (!window.confirm(`Withdraw the invitation of ${invitation.username}? Their link will stop working.`)) return;
  try {
    await api(`teams/${ctx.team.id}/invitations/${invitation.id}/`, { method: "DELETE" });
    toast(`Invitation of ${invitation.username} withdrawn`, "success");
  } catch (error) {
    failed(error);
  }
  await loadInvitations().catch(failed);
}

$("#invite").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    const made = await api(`teams/${ctx.team.id}/invitations/`, {
      method: "POST", body: { username: form.get("username").trim(), role: form.get("role") },
    });
    $("#invite-link-who").textContent = `${made.username} (${made.role}), until ${when(made.expires_at)}`;
    showOnce("#invite-link", "#invite-link-url", made.link);
    event.target.reset();
  } catch (error) {
    failed(error);
  }
  await loadInvitations().catch(failed);
});

wireOnce("#invite-link", "#invite-link-url", "#copy-invite-link", "#hide-invite-link");
