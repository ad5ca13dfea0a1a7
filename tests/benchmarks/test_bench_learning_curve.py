"""Benchmark (`make bench`, never part of the test run): do reviewers' corrections make the model better on the
team's own imagery? Measured through the real path, per shifted domain (learning_curve.DOMAINS) and seed:

1. a team uploads two missions on the domain: a pool of >= 100 photos to review and a held-out mission of >= 100
   photos whose labels no fine-tune ever sees; the demo model is its active version;
2. the operator clicks every photo (the generator's click), the worker predicts;
3. per review order (oldest first, least confident first) and N in LEARNING_CURVE_N: the reviewer takes the next
   targets from the queue up to N reviewed (approve over IoU 0.5 with the truth, else correct to the true box), an
   admin starts a training run from the demo model on the team's labels with the platform's default (the fine-tune
   recipe, smgeo.finetune), the worker fine-tunes and registers a version, and a prediction batch re-predicts every
   held-out click with it; N = 0 is the demo model itself;
4. between orders every review is reopened.

Writes docs/results/learning_curve.json (per domain: per seed, and mean ± std over seeds per order and N; a domain
measured again replaces only its own entry) and docs/img/learning-curve.png (one panel per domain). Environment:
LEARNING_CURVE_DOMAINS (default lookalikes,arid), LEARNING_CURVE_SEEDS (0,1,2), LEARNING_CURVE_N (10,25,50,100),
LEARNING_CURVE_HELD_OUT (104 photos), LEARNING_CURVE_REPLAY (0: no replay of base data), LEARNING_CURVE_LR (the
recipe's), LEARNING_CURVE_ORDERS, LEARNING_CURVE_OUT (another JSON; its plot beside it), and for the worker
FINE_TUNE_BASE_DATA=ROOT:NAME (the base model's data: what each fine-tune forgot of it is recorded; replay needs it).
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path

import pytest

from smgeo.finetune import FineTuneRecipe
from tests.benchmarks.learning_curve import (
    DOMAINS,
    click_all,
    fine_tune,
    held_out_accuracy,
    mean_std,
    reopen_all,
    review_next,
    upload_mission,
)
from tests.platform.factories import client_for, make_mission, team_setup
from tests.workers.synthetic_mission import DEMO_CHECKPOINT, register_demo_model

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True), pytest.mark.timeout(12 * 3600)]

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(os.environ.get("LEARNING_CURVE_OUT", ROOT / "docs" / "results" / "learning_curve.json"))
PLOT = OUT.with_suffix(".png") if "LEARNING_CURVE_OUT" in os.environ else ROOT / "docs" / "img" / "learning-curve.png"
DOMAIN_NAMES = tuple(os.environ.get("LEARNING_CURVE_DOMAINS", ",".join(DOMAINS)).split(","))
ORDERS = tuple(os.environ.get("LEARNING_CURVE_ORDERS", "oldest,least_confident").split(","))
SEEDS = [int(v) for v in os.environ.get("LEARNING_CURVE_SEEDS", "0,1,2").split(",")]
NS = sorted(int(v) for v in os.environ.get("LEARNING_CURVE_N", "10,25,50,100").split(","))
HELD_OUT = int(os.environ.get("LEARNING_CURVE_HELD_OUT", "104"))
REPLAY = float(os.environ.get("LEARNING_CURVE_REPLAY", "0"))
LR = float(os.environ["LEARNING_CURVE_LR"]) if os.environ.get("LEARNING_CURVE_LR") else None  # None: the recipe's
SEED_BASE = {"lookalikes": 0, "arid": 100}  # each domain's missions come from seeds of their own


def test_learning_curve_through_the_platform(celery_worker, tmp_path) -> None:  # noqa: ANN001
    result = json.loads(OUT.read_text()) if OUT.is_file() else {}
    domains = result.get("domains", {})
    for domain in DOMAIN_NAMES:
        seeds = []
        for seed in SEEDS:
            started = time.monotonic()
            seeds.append(one_seed(seed, domain, tmp_path / f"{domain}-seed-{seed}"))
            seeds[-1]["minutes"] = round((time.monotonic() - started) / 60, 1)
            print(f"{domain} seed {seed}: {json.dumps(seeds[-1]['curve'])} ({seeds[-1]['minutes']} min)", flush=True)
            domains[domain] = {**summary(seeds), "seeds": seeds, "setup": setup_description(domain)}
            result = {"domains": domains, "command": COMMAND}
            OUT.parent.mkdir(parents=True, exist_ok=True)
            OUT.write_text(json.dumps(result, indent=2) + "\n")  # after every seed: an interrupted run keeps its seeds
            plot(result)
    print(json.dumps({name: domains[name]["goals"] for name in DOMAIN_NAMES}, indent=2))


def one_seed(seed: int, domain: str, folder: Path) -> dict:
    setup = team_setup()
    operator, reviewer, admin = (client_for(user) for user in (setup.operator, setup.reviewer, setup.admin))
    held_out_mission = make_mission(setup.team, "held-out", by=setup.operator)
    version = register_demo_model(setup)
    seed_of = SEED_BASE.get(domain, 0) + seed
    pool = upload_mission(
        operator, setup.mission.id, folder / "pool", seed=1000 + seed_of, photos=max(NS), domain=domain
    )
    held_out = upload_mission(
        operator, held_out_mission.id, folder / "held-out", seed=2000 + seed_of, photos=HELD_OUT, domain=domain
    )
    click_all(operator, pool + held_out)
    pool_truth = {photo.target_id: photo.box for photo in pool}
    held_out_truth = {photo.target_id: photo.box for photo in held_out}
    base = held_out_accuracy(reviewer, held_out_mission.id, version.id, held_out_truth)
    curve: dict[str, dict[str, float]] = {}
    points: dict[str, dict[str, dict]] = {}
    for order in ORDERS:
        reopen_all(reviewer, list(pool_truth))
        reviewed, corrected, curve[order], points[order] = 0, 0, {"0": base["acc@0.5"]}, {}
        for n in NS:
            done, fixed = review_next(reviewer, setup.mission.id, order, pool_truth, n - reviewed)
            reviewed, corrected = reviewed + done, corrected + fixed
            run = fine_tune(admin, setup.team.id, version.id, REPLAY, LR)
            assert run["status"] == "succeeded", run["error"]
            measured = held_out_accuracy(reviewer, held_out_mission.id, run["result_version"]["id"], held_out_truth)
            curve[order][str(n)] = measured["acc@0.5"]
            points[order][str(n)] = {**measured, "labels": reviewed, "corrected": corrected, "run": run_summary(run)}
    return {"seed": seed, "mission_seeds": [1000 + seed_of, 2000 + seed_of], "base": base, "curve": curve,
            "points": points, "pool_photos": len(pool)}  # fmt: skip


def run_summary(run: dict) -> dict:
    """What the training run itself reported: its params, minutes, the log's line on what it kept, the team held-out
    comparison and the forgetting check."""
    forgetting = run.get("forgetting") or {}
    minutes = None
    if run.get("started_at") and run.get("finished_at"):
        spent = datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])
        minutes = round(spent.total_seconds() / 60, 2)
    return {
        "id": run["id"], "params": run["params"], "labels": run["dataset"]["label_count"], "minutes": minutes,
        "kept_base": "the base's weights were kept" in (run.get("log") or ""),
        "base_metrics": run["base_metrics"], "new_metrics": run["new_metrics"],
        "verdict": (run.get("comparison") or {}).get("verdict"),
        "forgetting": {key: forgetting.get(key) for key in ("measured", "n", "lost", "summary")},
    }  # fmt: skip


def summary(seeds: list[dict]) -> dict:
    """Mean ± std over seeds per order and N, and the goals' measured answers."""
    ns = ["0", *map(str, NS)]
    curve = {order: {n: mean_std([s["curve"][order][n] for s in seeds]) for n in ns} for order in ORDERS}
    top = str(NS[-1])
    gains = {order: mean_std([s["curve"][order][top] - s["curve"][order]["0"] for s in seeds]) for order in ORDERS}
    reaching: list[int] | str = "not measured: needs both orders"
    if {"oldest", "least_confident"} <= set(ORDERS):
        target = curve["oldest"][top]["mean"]
        reaching = [int(n) for n in ns[1:] if curve["least_confident"][n]["mean"] >= target]
        if gains["oldest"]["mean"] <= gains["oldest"]["std"]:  # nothing gained: reaching it says nothing
            reaching = f"vacuous: oldest first gained {gains['oldest']['mean']:+.3f} ± {gains['oldest']['std']:.3f}"
    lost = [p["run"]["forgetting"]["lost"] for s in seeds for o in ORDERS for p in s["points"][o].values()]
    lost = [value for value in lost if value is not None]
    minutes = [s["points"][o][top]["run"]["minutes"] for s in seeds for o in ORDERS]
    minutes = [value for value in minutes if value is not None]
    return {
        "curve": curve,
        "gain_at_top_n": gains,
        "goals": {
            f"gain at N={top} (goal >= 0.20)": {order: round(gains[order]["mean"], 3) for order in ORDERS},
            f"labels least_confident needs to reach oldest's N={top} (goal <= 60)": (
                reaching if isinstance(reaching, str) else reaching[0] if reaching else None
            ),
            "monotone (each mean >= the previous minus its std)": {
                order: all(
                    curve[order][b]["mean"] >= curve[order][a]["mean"] - curve[order][a]["std"]
                    for a, b in zip(ns, ns[1:], strict=False)
                )
                for order in ORDERS
            },
            "base-domain acc@0.5 lost, worst run (goal <= 0.03)": round(max(lost), 3) if lost else "not measured",
            f"minutes of a fine-tune at N={top}, slowest (goal <= 10)": max(minutes, default="not measured"),
        },
    }


COMMAND = "bash deploy/local/test.sh -m bench tests/benchmarks/test_bench_learning_curve.py -s (make bench)"


def setup_description(domain: str) -> dict:
    return {
        "model": f"{DEMO_CHECKPOINT.relative_to(ROOT)} (the demo model), fine-tuned from it at every point",
        "domain": {"name": domain, **DOMAINS[domain],
                   "demo_model_saw": "temperate style, default difficulty, 0.3 m, pitch 20-55, photometric 0.5"},
        "ns": NS, "held_out_photos": HELD_OUT, "orders": list(ORDERS), "replay": REPLAY,
        "training": {"recipe": "the platform's default: smgeo.finetune.FineTuneRecipe",
                     "steps": FineTuneRecipe().steps, "lr": LR or FineTuneRecipe().lr},
        "base_data": os.environ.get("FINE_TUNE_BASE_DATA") or None,
        "reviewer": "approve when the predicted box has IoU > 0.5 with the truth, else correct to the true box",
    }  # fmt: skip


def plot(result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    domains = result["domains"]
    figure, panels = plt.subplots(1, len(domains), figsize=(6.5 * len(domains), 4.2), squeeze=False)
    for axes, (name, entry) in zip(panels[0], domains.items(), strict=True):
        for order, colour in zip(entry["curve"], ("tab:blue", "tab:orange"), strict=False):
            points = entry["curve"][order]
            ns = [int(n) for n in points]
            axes.errorbar(ns, [p["mean"] for p in points.values()], yerr=[p["std"] for p in points.values()],
                          label=f"{order.replace('_', ' ')} first", color=colour, marker="o", capsize=3)  # fmt: skip
        seeds = len(entry["seeds"])
        axes.set_xlabel("reviewed targets (N)")
        axes.set_ylabel("held-out acc@0.5")
        axes.set_title(f"{name}: {entry['seeds'][0]['base']['n']} held-out clicks, {seeds} seed{'s' * (seeds > 1)}",
                       fontsize=10)  # fmt: skip
        axes.grid(alpha=0.3)
        axes.legend()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(PLOT, dpi=110)
