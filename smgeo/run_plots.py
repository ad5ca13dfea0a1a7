"""A training run's curves as one picture: validation accuracy (all clicks and edge clicks) and, per MoE layer and
view, the routers' gate entropy and the largest top-1 share of one expert, at each validation."""

from __future__ import annotations

import json
from pathlib import Path

from matplotlib.figure import Figure  # used without pyplot: no GUI backend, no global state


def read_entries(metrics_jsonl_path: str | Path, kind: str) -> list[dict]:
    lines = Path(metrics_jsonl_path).read_text().splitlines()
    return [entry for entry in map(json.loads, filter(str.strip, lines)) if entry.get("kind") == kind]


def run_figure(metrics_jsonl_path: str | Path) -> Figure:
    """Three panels: val acc@0.5 by step; gate entropy by step; the busiest expert's top-1 share by step."""
    figure = Figure(figsize=(15, 4.2), dpi=110, layout="constrained")
    accuracy, entropy, share = figure.subplots(1, 3)
    vals = read_entries(metrics_jsonl_path, "val")
    steps = [v["step"] for v in vals]
    for key, label in (("acc@0.5", "all clicks"), ("edge_acc@0.5", "edge clicks"), ("acc@0.25", "acc@0.25")):
        if all(key in v for v in vals):
            accuracy.plot(steps, [v[key] for v in vals], marker="o", label=label)
    accuracy.set(title=f"validation (n = {vals[-1]['n'] if vals else 0})", xlabel="step", ylabel="accuracy")
    routers = read_entries(metrics_jsonl_path, "router")
    _router_panels(routers, entropy, share)
    for axis in (accuracy, entropy, share):
        axis.grid(alpha=0.3)
        if axis.has_data():
            axis.legend(fontsize=8)
    return figure


def _router_panels(routers: list[dict], entropy, share) -> None:  # noqa: ANN001
    steps = [r["step"] for r in routers]
    for layer_index in range(len(routers[0]["layers"]) if routers else 0):
        for view in ("drone", "satellite"):
            stats = [r["layers"][layer_index].get(view) for r in routers]
            if any(s is None for s in stats):
                continue
            label = f"layer {layer_index} {view}"
            entropy.plot(steps, [s["gate_entropy"] for s in stats], marker="o", label=label)
            share.plot(steps, [max(s["top1_share"]) for s in stats], marker="o", label=label)
    if routers:
        entropy.axhline(routers[0]["gate_entropy_max"], color="grey", linestyle="--", label="uniform gate")
    entropy.set(title="router gate entropy (nats)", xlabel="step")
    share.set(title="busiest expert's top-1 share", xlabel="step", ylim=(0, 1))
