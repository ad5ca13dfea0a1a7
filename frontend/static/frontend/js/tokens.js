// API tokens: the signed-in user's own tokens for scripts. Create one (its key is shown once), see them by name,
// first characters, creation and last use, revoke one. The server keeps only a fingerprint of each key.
import { api } from "./api.js";
import { showOnce, wireOnce } from "./one_time_secret.js";
import { el, toast } from "./ui.js";

const $ = (selector) => document.querySelector(selector);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");
const failed = (error) => toast(error.message, "error");

async function loadTokens() {
  const tokens = await api("me/tokens/");
  const body = $("#tokens tbody");
  body.replaceChildren(...tokens.map(tokenRow));
  if (!tokens.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "You have no API tokens yet.")));
  }
}

function tokenRow(token) {
  return el("tr", { dataset: { token: token.id, name: token.name } },
    el("td", {}, el("strong", {}, token.name)),
    el("td", {}, el("code", {}, `${token.prefix}…`)),
    el("td", { class: "small" }, when(token.created_at)),
    el("td", { class: "small" }, token.last_used_at ? when(token.last_used_at) : el("span", { class: "muted" }, "never")),
    el("td", {}, el("button", { type: "button", class: "revoke danger", onclick: () => revoke(token) }, "Revoke")),
  );
}

async function revoke(token) {
  if (!window.confirm(`Revoke the token “${token.name}”? Scripts using it will be refused from now on.`)) return;
  try {
    await api(`me/tokens/${token.id}/`, { method: "DELETE" });
    toast(`Token “${token.name}” revoked`, "success");
  } catch (error) {
    failed(error);
  }
  await loadTokens().catch(failed);
}

$("#create-token").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = new FormData(event.target).get("name").trim();
  try {
    const made = await api("me/tokens/", { method: "POST", body: { name } });
    showOnce("#new-token", "#new-token-key", made.key);
    event.target.reset();
    toast(`Token “${made.name}” created`, "success");
  } catch (error) {
    failed(error);
  }
  await loadTokens().catch(failed);
});

wireOnce("#new-token", "#new-token-key", "#copy-token", "#hide-token");
loadTokens().catch(failed);
