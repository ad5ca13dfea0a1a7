"""Router diagnostics: how each encoder layer's routers split a fixed probe batch among the experts, per view.

Logged at every validation as one metrics.jsonl entry (`RouterMonitor`); `router_table` prints them:

    {"kind": "router", "epoch", "step", "probe_samples", "num_experts", "top_k", "gate_entropy_max",
     "layers": [{"layer": 0, "drone": {...}, "satellite": {...}}, ...]}

"drone" holds the query's tokens, "satellite" the reference's (a view without tokens, e.g. the drone view of
the query-agnostic ablation, is left out). Per layer and view:
    tokens        probe tokens of that view routed in the layer
    load          (E,) share of the top-k assignments that went to each expert (sums to 1)
    top1_share    (E,) share of the tokens whose best expert is each expert (sums to 1)
    gate_entropy  mean entropy of a token's softmax gate, in nats (0: one expert; gate_entropy_max = ln E: uniform)
    logit_std     mean over tokens of the std of its E router logits (near 0: the router cannot tell experts apart)
    top1_weight   mean renormalised gate weight of the best expert (1/k: undecided; 1: everything on one expert)
    top1_changed  share of tokens whose best expert differs from the previous evaluation (None at the first)
The probe is the first `samples` items of the validation set, run in eval mode: the same tokens every time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset, default_collate

from smgeo.cross_view_encoder import DRONE, SATELLITE
from smgeo.moe import Router, RoutingResult, SparseMoE, gate_entropy

VIEWS = {DRONE: "drone", SATELLITE: "satellite"}


@dataclass(frozen=True)
class RouterSnapshot:
    """The routers' decisions on one probe: plain statistics for the log, and the best expert of every token."""

    layers: list[dict[str, Any]]  # per routed layer: {"layer": index, view: statistics}
    top1: list[dict[str, torch.Tensor]]  # per routed layer: view -> (T_view,) best expert of each probe token


def probe_batches(dataset: Dataset, samples: int, batch_size: int) -> list[dict[str, Any]]:
    """The first `samples` items of `dataset`, collated in batches of at most `batch_size`."""
    items = [dataset[index] for index in range(min(samples, len(dataset)))]
    return [default_collate(items[start : start + batch_size]) for start in range(0, len(items), batch_size)]


def model_routers(model: torch.nn.Module) -> list[tuple[int, Router]]:
    """(layer index, router) of every encoder layer with experts (none in the dense-FFN ablation)."""
    return [(i, layer.ffn.router) for i, layer in enumerate(model.encoder.layers) if isinstance(layer.ffn, SparseMoE)]


@contextmanager
def recorded_routing(routers: Sequence[Router]) -> Iterator[list[list[tuple[RoutingResult, torch.Tensor]]]]:
    """While the block runs, each router's (routing, source_t) of every forward, one list per router."""
    records: list[list[tuple[RoutingResult, torch.Tensor]]] = [[] for _ in routers]

    def hook(store: list, module: Router, args: tuple, routing: RoutingResult) -> None:
        store.append((routing, args[1]))

    pairs = zip(routers, records, strict=True)
    handles = [router.register_forward_hook(partial(hook, store)) for router, store in pairs]
    try:
        yield records
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


@torch.no_grad()
def router_snapshot(model: torch.nn.Module, batches: Sequence[dict], autocast: bool = False) -> RouterSnapshot:
    """Run the probe `batches` through `model` in eval mode and summarise every router's decisions."""
    routed = model_routers(model)
    records = run_probe(model, [router for _, router in routed], batches, autocast)
    summaries = [layer_summary(i, *concat_routing(record)) for (i, _), record in zip(routed, records, strict=True)]
    return RouterSnapshot([stats for stats, _ in summaries], [top1 for _, top1 in summaries])


def run_probe(
    model: torch.nn.Module, routers: Sequence[Router], batches: Sequence[dict], autocast: bool
) -> list[list[tuple[RoutingResult, torch.Tensor]]]:
    """Each router's recorded (routing, source_t) over a forward of every probe batch, in eval mode."""
    device = next(model.parameters()).device
    with eval_mode(model), recorded_routing(routers) as records:
        for batch in batches:
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
                model(batch["query"].to(device), batch["reference"].to(device), batch["click"].to(device))
    return records


def layer_summary(
    index: int, routing: RoutingResult, source_t: torch.Tensor
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """One layer's statistics per view, and the best expert of each of its probe tokens per view."""
    views = {name: source_t == source for source, name in VIEWS.items() if (source_t == source).any()}
    stats = {"layer": index} | {name: view_stats(routing, rows) for name, rows in views.items()}
    return stats, {name: routing.experts_tk[rows, 0].cpu() for name, rows in views.items()}


def concat_routing(record: list[tuple[RoutingResult, torch.Tensor]]) -> tuple[RoutingResult, torch.Tensor]:
    """One RoutingResult (and source_t) over all the forwards of a router."""
    fields = zip(*((r.logits_te, r.probs_te, r.experts_tk, r.weights_tk, s) for r, s in record), strict=True)
    logits_te, probs_te, experts_tk, weights_tk, source_t = (torch.cat(parts) for parts in fields)
    return RoutingResult(logits_te, probs_te, experts_tk, weights_tk), source_t


def view_stats(routing: RoutingResult, rows: torch.Tensor) -> dict[str, Any]:
    """Statistics (plain numbers) of the routing of the tokens selected by the boolean `rows`."""
    num_experts, experts_tk = routing.probs_te.shape[1], routing.experts_tk[rows]
    return {
        "tokens": int(rows.sum()),
        "load": shares(experts_tk.reshape(-1), num_experts),
        "top1_share": shares(experts_tk[:, 0], num_experts),
        "gate_entropy": round(gate_entropy(routing.probs_te[rows]).mean().item(), 4),
        "logit_std": round(routing.logits_te[rows].std(dim=-1, correction=0).mean().item(), 4),
        "top1_weight": round(routing.weights_tk[rows, 0].mean().item(), 4),
    }


def shares(experts: torch.Tensor, num_experts: int) -> list[float]:
    """Share of the entries of `experts` (expert ids) naming each expert, rounded."""
    counts = torch.bincount(experts, minlength=num_experts).float()
    return [round(share, 4) for share in (counts / counts.sum()).tolist()]


def top1_change_rate(previous: torch.Tensor, current: torch.Tensor) -> float:
    """Share of tokens whose best expert differs between two evaluations of the same probe tokens."""
    if previous.shape != current.shape:
        raise ValueError(f"not the same probe tokens: {tuple(previous.shape)} vs {tuple(current.shape)}")
    return round((previous != current).float().mean().item(), 4) if current.numel() else 0.0


def with_changes(snapshot: RouterSnapshot, previous: RouterSnapshot | None) -> list[dict[str, Any]]:
    """The snapshot's layer statistics with each view's top1_changed since `previous` (None without one)."""
    layers = []
    for index, (stats, top1) in enumerate(zip(snapshot.layers, snapshot.top1, strict=True)):
        before = previous.top1[index] if previous is not None else {}
        changed = {view: top1_change_rate(before[view], now) if view in before else None for view, now in top1.items()}
        layers.append(stats | {view: stats[view] | {"top1_changed": rate} for view, rate in changed.items()})
    return layers


class RouterMonitor:
    """Router statistics on a fixed probe (the first `samples` validation items) at every evaluation, handed to
    each of `sinks` (the trainer's metrics log and progress hook).

    Keeps the previous evaluation's choices (in memory only: after a resume the first entry has no change rate).
    """

    def __init__(
        self,
        dataset: Dataset,
        sinks: Sequence[Callable[[dict[str, Any]], Any]] = (),
        samples: int = 16,
        batch_size: int = 8,
        autocast: bool = False,
    ) -> None:
        self.dataset, self.sinks, self.samples, self.batch_size = dataset, sinks, samples, batch_size
        self.autocast = autocast
        self.batches: list[dict[str, Any]] | None = None  # read on first use
        self.previous: RouterSnapshot | None = None

    def entry(self, model: torch.nn.Module, epoch: int, step: int) -> dict[str, Any] | None:
        """The metrics.jsonl entry of this evaluation; None for a model without routers."""
        routers = model_routers(model)
        if not routers:
            return None
        if self.batches is None:
            self.batches = probe_batches(self.dataset, self.samples, self.batch_size)
        snapshot = router_snapshot(model, self.batches, self.autocast)
        layers, self.previous = with_changes(snapshot, self.previous), snapshot
        router = routers[0][1]
        experts = router.gates[0].out_features
        head = {"kind": "router", "epoch": epoch, "step": step, "probe_samples": min(self.samples, len(self.dataset))}
        info = {"num_experts": experts, "top_k": router.top_k, "gate_entropy_max": round(math.log(experts), 4)}
        return head | info | {"layers": layers}

    def observe(self, model: torch.nn.Module, epoch: int, step: int) -> None:
        """Compute this evaluation's entry and hand it to each sink (e.g. the metrics log and the progress hook)."""
        entry = self.entry(model, epoch, step)
        for sink in self.sinks if entry is not None else ():
            sink(entry)


def router_table(metrics_jsonl_path: str | Path) -> str:
    """The router entries of a metrics.jsonl as a text table, one row per evaluation, layer and view."""
    lines = [
        f"{'epoch':>5} {'step':>7} {'layer':>5} {'view':<9} {'entropy':>13} {'logit_std':>9} {'top1_w':>6} "
        f"{'changed':>7}  top-1 share per expert"
    ]
    for text in Path(metrics_jsonl_path).read_text().splitlines():
        entry = json.loads(text) if text.strip() else {}
        if entry.get("kind") != "router":
            continue
        rows = [(layer, view) for layer in entry["layers"] for view in VIEWS.values() if view in layer]
        lines += [table_row(entry, layer, view) for layer, view in rows]
    return "\n".join(lines)


def table_row(entry: dict[str, Any], layer: dict[str, Any], view: str) -> str:
    stats = layer[view]
    changed = "-" if stats.get("top1_changed") is None else f"{stats['top1_changed']:.3f}"
    entropy = f"{stats['gate_entropy']:.3f}/{entry['gate_entropy_max']:.3f}"
    top1 = " ".join(f"{share:.2f}" for share in stats["top1_share"])
    return (
        f"{entry['epoch']:>5} {entry['step']:>7} {layer['layer']:>5} {view:<9} {entropy:>13} "
        f"{stats['logit_std']:>9.3f} {stats['top1_weight']:>6.3f} {changed:>7}  {top1}"
    )
