// What the review page's side panel shows: the current target, its review history (the latest few, with a toggle
// for all), the read-only notice of a decided target, the decisions of this session, a conflict explained.

import { pastTense } from "./review_session.js";
import { badge, el } from "./ui.js";

const HISTORY_SHOWN = 5; // a long history would push the panel's buttons off-screen

const $ = (id) => document.getElementById(id);

export function renderTarget(target) {
  const p = target.prediction;
  $("current").replaceChildren(
    el("div", { class: "row" }, el("strong", { class: "grow", id: "current-target", dataset: { target: target.id } }, `Target #${target.id}`), badge(target.status)),
    el("div", { class: "small" }, `clicked by ${target.created_by?.username || "?"}${target.label ? ` · ${target.label}` : ""}`),
    el("div", { class: "small" }, `score ${p.score.toFixed(3)}` +
      (typeof p.margin === "number" ? ` · margin ${p.margin.toFixed(3)}` : "") +
      ` · ${p.model_version_name} · ${p.candidates.length} candidates`),
  );
}

export function renderEmpty(status) {
  const words = status === "predicted"
    ? "Nothing left to review in this mission. New predictions appear here as the worker finishes them."
    : `No ${status} target matches these choices.`;
  $("current").replaceChildren(el("p", { id: "queue-empty" }, words));
  $("history").replaceChildren();
  $("history-toggle").hidden = true;
}

// The notice over a decided target: it is shown read-only until reopened.
export function renderReadOnly(target, onReopen) {
  const box = $("read-only");
  box.hidden = !target || target.status === "predicted";
  if (box.hidden) return box.replaceChildren();
  const by = target.last_review?.reviewer?.username;
  box.replaceChildren(
    el("p", { class: "small" }, `Already ${target.status}${by ? ` by ${by}` : ""}: shown read-only. Reopen it to decide again.`),
    el("button", { id: "reopen", type: "button", onclick: onReopen }, "Reopen"),
  );
}

export function renderHistory(target, showAll) {
  const reviews = target.reviews || []; // newest first
  const shown = showAll ? reviews : reviews.slice(0, HISTORY_SHOWN);
  $("history").replaceChildren(...shown.map((r) =>
    el("li", {}, `${new Date(r.created_at).toLocaleString()} · ${r.reviewer?.username || "?"} ${pastTense(r.decision)}`,
      r.candidate !== null && r.candidate !== undefined ? ` (candidate ${r.candidate + 1})` : "", ` → ${r.status_after}`)));
  if (!reviews.length) $("history").append(el("li", { class: "muted" }, "No review yet."));
  const toggle = $("history-toggle");
  toggle.hidden = reviews.length <= HISTORY_SHOWN;
  toggle.textContent = showAll ? `Show the latest ${HISTORY_SHOWN}` : `Show all ${reviews.length}`;
  toggle.setAttribute("aria-expanded", String(showAll));
}

// Each decision links to its target (opened read-only once decided); an undone one is marked so.
export function renderSession(entries) {
  $("session").replaceChildren(...entries.slice().reverse().map((entry) =>
    el("li", { class: entry.undone ? "muted" : null },
      el("a", { href: `?target=${entry.target}` }, `#${entry.target}`), ` ${pastTense(entry.decision)}`,
      entry.undone ? " · undone" : "")));
}

export function explainConflict(conflict, body, onNext) {
  const latest = conflict.latest_review;
  const who = latest ? `${latest.reviewer?.username || latest.reviewer || "someone"} ${pastTense(latest.decision)} it` : "it changed";
  const box = $("conflict");
  box.hidden = false;
  box.replaceChildren(
    el("strong", {}, "Someone decided first"),
    el("p", { class: "small" }, `${who}; the target is now ${conflict.current_status}. Your ${body.decision} was not saved.`),
    el("p", { class: "small muted" }, conflict.detail),
    el("div", { class: "row" }, el("button", { id: "next-after-conflict", onclick: onNext }, "Go to the next target")),
  );
}
