// What a finished fine-tuning run came to, for its detail: the paired comparison with its base on the held-out labels
// (in words, then the numbers), whether its version was promoted or the team kept the base, and what it forgot of
// the base model's own data.
import { percent } from "./metrics.js";
import { el, when } from "./ui.js";

const labels = (n) => `${n} held-out label${n === 1 ? "" : "s"}`;

// "The new version is better on 5 of 30 held-out labels, worse on 2, the same on 23": from the run's paired counts.
export function pairedSentence(counts) {
  if (!counts) return null;
  const { n, better, worse, same } = counts;
  const text = n > 0
    ? `The new version is better on ${better} of ${labels(n)}, worse on ${worse}, the same on ${same} ` +
      "(a hit: the box overlaps the reviewed box with IoU > 0.5)."
    : "No held-out labels: the new version could not be compared with its base label by label.";
  return el("p", { class: "paired-outcome", id: "paired-outcome" }, text);
}

// Promoted (by auto-promotion or an admin, when) or kept the base, and whether the comparison passes the rule.
export function promotionLine(run) {
  const promotion = run.promotion;
  if (!promotion || !run.result_version) return null;
  const name = run.result_version.name;
  if (promotion.promoted) {
    const how = promotion.reason === "auto-promote"
      ? "auto-promoted: a gain over its base beyond noise on enough held-out labels"
      : `${promotion.reason} by ${promotion.activated_by || "the system"}`;
    return el("p", { class: "promotion promoted", id: "promotion" },
      `Promoted: ${name} became the team's active model (${how}, ${when(promotion.activated_at)}).`);
  }
  const rule = promotion.meets_auto_promote_rule
    ? "its comparison passes the auto-promote rule; an admin can activate it"
    : `its comparison does not pass the auto-promote rule (a gain beyond noise on at least ${run.metrics_min_n} ` +
      "held-out labels)";
  return el("p", { class: "promotion kept", id: "promotion" },
    `Kept the base (${run.base_version.name}): ${name} was never made the team's active model; ${rule}.`);
}

// The paired comparison of a fine-tune with its base on the held-out labels, in words and numbers.
export function comparisonBlock(run) {
  const comparison = run.comparison;
  if (!comparison || comparison.n === undefined) return null;
  const pts = (v) => `${v > 0 ? "+" : ""}${(v * 100).toFixed(1)} pts`;
  const rows = [pairedSentence(run.paired_counts),
    el("p", { class: comparison.weak ? "verdict weak" : "verdict" }, comparison.verdict)];
  if (comparison.n > 0) {
    rows.push(el("p", { class: "small" },
      `acc@0.5 on ${labels(comparison.n)} (${comparison.set.id}): ${percent(comparison.base_acc)} → ` +
      `${percent(comparison.new_acc)}, ${pts(comparison.diff)} (95 % interval ${pts(comparison.ci95[0])} to ` +
      `${pts(comparison.ci95[1])}).`));
  }
  return el("div", { class: "comparison", id: "comparison" }, el("h3", {}, "Compared with the base, label by label"), rows);
}

// What a fine-tune forgot: base and new version on a fixed slice of the base model's own data (when measured).
export function forgettingLine(forgetting) {
  if (!forgetting || forgetting.measured === undefined) return null;
  if (!forgetting.measured) return el("p", { class: "muted small", id: "forgetting" }, `Forgetting: ${forgetting.summary}.`);
  const lost = forgetting.lost;
  return el("p", { class: "small", id: "forgetting" }, "Forgetting, on the base model's own data ",
    el("span", { class: "muted" }, `(${forgetting.set.name}, ${forgetting.set.id})`), ": acc@0.5 ",
    `${percent(forgetting.base["acc@0.5"])} → ${percent(forgetting.new["acc@0.5"])} `,
    el("span", { class: lost > 0 ? "worse" : "better" }, lost > 0 ? `(−${(lost * 100).toFixed(1)} pts)` : `(+${(-lost * 100).toFixed(1)} pts)`),
    ` n = ${forgetting.n}.`);
}
