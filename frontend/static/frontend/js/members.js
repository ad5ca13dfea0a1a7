// Models & team, members: the team's members and roles. Admins add an existing user (someone already in the team
// is refused with the server's 409, which names their role), change a role in the list, remove a member, and invite
// a new person by a one-time link (invitations.js). Other members read.
import { api } from "./api.js";
import { showInvitations } from "./invitations.js";
import { el, toast } from "./ui.js";

const ROLES = ["operator", "reviewer", "admin"];
const ctx = { team: null, me: null, admin: false, onSelfChanged: async () => {}, members: [] };

const $ = (selector) => document.querySelector(selector);
const aRole = (role) => `${/^[aeiou]/.test(role) ? "an" : "a"} ${role}`;
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
const failed = (error) => toast(error.message, "error");

// Show `team`'s members as `me` sees them; `onSelfChanged` re-reads who I am after I changed my own membership.
export async function showMembers(team, me, { admin, onSelfChanged }) {
  Object.assign(ctx, { team, me, admin, onSelfChanged });
  const why = `only team admins can manage members; you are ${aRole(team.my_role)} in this team`;
  for (const control of $("#add-member").elements) {
    control.disabled = !admin;
    control.title = admin ? "" : why;
  }
  await Promise.all([loadMembers(), showInvitations(team, { admin, why })]);
}

async function loadMembers() {
  const team = ctx.team.id;
  const members = await api(`teams/${team}/members/`);
  if (ctx.team.id !== team) return;
  ctx.members = members;
  renderMembers();
}

function renderMembers() {
  const you = el("span", { class: "muted" }, " (you)");
  $("#members tbody").replaceChildren(...ctx.members.map((member) =>
    el("tr", { dataset: { member: member.id, username: member.username } },
      el("td", {}, member.username, member.username === ctx.me.username ? you : null),
      el("td", {}, ctx.admin ? roleSelect(member) : member.role),
      el("td", { class: "small" }, when(member.created_at)),
      el("td", {}, ctx.admin
        ? el("button", { type: "button", class: "remove danger", onclick: () => removeMember(member) }, "Remove")
        : null),
    )));
}

function roleSelect(member) {
  const options = ROLES.map((role) => el("option", { value: role, selected: role === member.role }, role));
  const select = el("select", { class: "role", "aria-label": `role of ${member.username}` }, options);
  select.addEventListener("change", () => setRole(member, select));
  return select;
}

async function setRole(member, select) {
  try {
    const updated = await api(`teams/${ctx.team.id}/members/${member.id}/`, {
      method: "PATCH", body: { role: select.value },
    });
    toast(`${updated.username} is now ${updated.role}`, "success");
    member.role = updated.role;
    if (member.username === ctx.me.username) await ctx.onSelfChanged();
  } catch (error) {
    select.value = member.role;
    failed(error);
  }
}

async function removeMember(member) {
  if (!window.confirm(`Remove ${member.username} from ${ctx.team.name}?`)) return;
  try {
    await api(`teams/${ctx.team.id}/members/${member.id}/`, { method: "DELETE" });
    toast(`${member.username} removed from ${ctx.team.name}`, "success");
    if (member.username === ctx.me.username) await ctx.onSelfChanged();
    else await loadMembers();
  } catch (error) {
    failed(error);
  }
}

// A 409 names the member's current role: their row is highlighted so the admin sees where to change it.
function pointAt(membershipId) {
  const row = $(`#members tr[data-member="${membershipId}"]`);
  if (!row) return;
  row.classList.add("pointed");
  row.querySelector("select.role")?.focus();
  setTimeout(() => row.classList.remove("pointed"), 4000);
}

$("#add-member").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    const added = await api(`teams/${ctx.team.id}/members/`, {
      method: "POST", body: { username: form.get("username").trim(), role: form.get("role") },
    });
    toast(`${added.username} is ${aRole(added.role)} of ${ctx.team.name}`, "success");
    event.target.reset();
    await loadMembers();
  } catch (error) {
    failed(error);
    if (error.status === 409 && error.body.membership) pointAt(error.body.membership);
  }
});
