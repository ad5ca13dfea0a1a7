"""`smgeo bench`: per-pair latency, throughput, FLOPs, FLOP/s as a ratio to a same-run GEMM, the MoE layers with
sparse dispatch against all experts computed densely, and the training loop's samples/s against the same step on
batches already in memory (tuned loader and the untuned one). A benchmark, not a test: it prints and writes JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

TARGETS = {
    "moe_dense_over_sparse": 1.5,
    "ratio_to_gemm": 0.40,
    "repeat_click_over_first": 0.5,
    "training_loop_over_memory": 0.85,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--configs", default="tiny,swin_t", help="comma-separated presets or YAML files")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per measurement (at least 10)")
    parser.add_argument("--batch", type=int, default=8, help="batch size of the throughput measurement")
    parser.add_argument("--gemm-size", type=int, help="side of the reference GEMM (default 2048 CPU, 8192 CUDA)")
    parser.add_argument("--out", default="docs/results/bench_model.json")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: CUDA when present)")
    parser.add_argument("--against", help="a checkout of an older commit (git worktree): each preset's batch-1 "
                        "forward there and here, timed alternately in one run")  # fmt: skip
    parser.add_argument("--padding-study", action="store_true", help="Swin window/input-size variants of swin_t")
    parser.add_argument("--studies-only", action="store_true", help="only --against and --padding-study")
    parser.add_argument("--training", default="tiny", help="comma-separated presets whose training loop is timed "
                        "against the bare step on batches in memory (empty: none)")  # fmt: skip
    parser.add_argument("--training-rounds", type=int, default=5, help="timed rounds of the training-loop measure")


OPTIONS = ("configs", "runs", "batch", "gemm_size", "device", "against", "padding_study", "studies_only", "training",
           "training_rounds")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import torch

    from smgeo.allocator import keep_freed_memory
    from smgeo.bench import bench_model, environment, gemm_flops_per_s
    from smgeo.bench_compare import compare_against, padding_study
    from smgeo.config import load_config
    from smgeo.predictor import pick_device

    if args.runs < 10:
        raise SystemExit("--runs must be at least 10 (latency is a median of at least 10 runs)")
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    gemm_size = args.gemm_size or (8192 if cuda else 2048)
    options = {name: getattr(args, name) for name in OPTIONS}
    report = {"command": args.command_line, "options": options, "environment": environment(device), "targets": TARGETS}
    if device.type == "cpu":  # as the predictor does (smgeo/allocator.py)
        report["environment"]["keeps_freed_memory"] = keep_freed_memory()
    report["gemm"] = gemm_flops_per_s(device, gemm_size, torch.float32)
    if cuda:
        report["gemm_bf16"] = gemm_flops_per_s(device, gemm_size, torch.bfloat16)
    print(f"GEMM {gemm_size}² fp32: {report['gemm']['flops_per_s'] / 1e9:.1f} GFLOP/s on {device}")
    report["models"] = {}
    for name in [n.strip() for n in args.configs.split(",") if n.strip()]:
        config = load_config(name)
        result = {}
        if not args.studies_only:
            result = bench_model(name, config, device, report["gemm"], args.runs, args.batch, extra_modes=cuda)
            print(summary_line(result))
        if args.against:
            result["against"] = compare_against(args.against, name, config, device, args.runs)
            print(f"{name}: {result['against']['new_median_s'] * 1000:.0f} ms here, "
                  f"{result['against']['old_median_s'] * 1000:.0f} ms at {args.against}: "
                  f"{result['against']['new_over_old']:.2f}x")  # fmt: skip
        report["models"][name] = result
    if not args.studies_only:
        report["training_loop"] = {name: bench_training(name, device, args.training_rounds) for name in
                                   [n.strip() for n in args.training.split(",") if n.strip()]}  # fmt: skip
    if args.padding_study:
        report["padding_study"] = padding_study(load_config("swin_t"), device, max(3, args.runs // 3))
        for label, entry in report["padding_study"].items():
            loads = entry["imagenet_224_weights_load"]
            print(f"{label}: {entry['flops_per_pair'] / 1e9:.1f} GFLOP, "
                  f"{entry['latency_batch1_median_s'] * 1000:.0f} ms, 224/window-7 weights load: {loads}")  # fmt: skip
    if not args.studies_only:
        report["targets_met"] = targets_met(report["models"], report["training_loop"])
        print(json.dumps(report["targets_met"]))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def bench_training(name: str, device, rounds: int) -> dict:  # noqa: ANN001
    """The training loop against the bare step: with the loader as tuned, then as it was (`baseline`)."""
    from smgeo.bench_training import measure_training_loop

    tuned = measure_training_loop(name, rounds=rounds, device=str(device))
    baseline = measure_training_loop(name, rounds=rounds, device=str(device), baseline=True)
    for label, r in (("tuned loader", tuned), ("untuned loader", baseline)):
        print(f"{name} training, {label}: loop {r['loop_samples_per_s']:.2f} samples/s, in memory "
              f"{r['memory_samples_per_s']:.2f} samples/s: {r['ratio']:.2f}x")  # fmt: skip
    return {"tuned": tuned, "baseline": baseline}


def targets_met(models: dict, training: dict) -> dict:
    met = {
        name: {
            "moe_dense_over_sparse": r["moe_layers"].get("dense_over_sparse", 0) >= TARGETS["moe_dense_over_sparse"],
            "ratio_to_gemm": max(r["ratio_to_gemm_batch1"], r["ratio_to_gemm_batched"]) >= TARGETS["ratio_to_gemm"],
            "repeat_click_over_first": r["reference_cache"]["repeat_over_first"] <= TARGETS["repeat_click_over_first"],
        }
        for name, r in models.items()
    }
    for name, r in training.items():
        ratio = r["tuned"]["ratio"]
        met.setdefault(name, {})["training_loop_over_memory"] = ratio >= TARGETS["training_loop_over_memory"]
    return met


def summary_line(r: dict) -> str:
    moe = r["moe_layers"]
    return (
        f"{r['config']}: {r['query_size'][0]}x{r['query_size'][1]} query, {r['reference_size']}² reference, "
        f"{r['params'] / 1e6:.1f} M params, {r['flops_per_pair'] / 1e9:.1f} GFLOP/pair | "
        f"batch 1 {r['latency_batch1']['median_s'] * 1000:.0f} ms | "
        f"batch {r['throughput_batch']} {r['throughput_pairs_per_s']:.2f} pairs/s | "
        f"FLOP/s vs GEMM {r['ratio_to_gemm_batch1']:.0%} (batch 1), {r['ratio_to_gemm_batched']:.0%} (batched) | "
        f"MoE layers dense/sparse {moe.get('dense_over_sparse', float('nan')):.2f}x, "
        f"whole model {r['model_dense_moe_over_sparse']:.2f}x | "
        f"repeat click (cached reference) {r['reference_cache']['repeat_over_first']:.2f}x the first"
    )
