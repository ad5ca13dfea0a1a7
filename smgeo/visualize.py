"""Pictures of what the model does on one sample: the prediction (query + click, reference with the ground
truth and the top-K boxes, heatmap overlay) and the expert-activation maps (each grid cell coloured by the
expert its router chose first), per MoE layer and per view."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure  # used without pyplot: no GUI backend, no global state
from matplotlib.patches import Patch, Rectangle
from PIL import Image

from smgeo.predictor import Predictor

GROUP_TITLES = {
    "query_fine": "drone · fine (stride 16)",
    "query_coarse": "drone · coarse (stride 32)",
    "reference_fine": "satellite · fine (stride 16)",
    "reference_coarse": "satellite · coarse (stride 32)",
}
GROUP_ORDER = ("query_fine", "query_coarse", "reference_fine", "reference_coarse")


@dataclass
class Inspection:
    """One forward pass, in the pixels of the images as given."""

    query: Image.Image
    reference: Image.Image
    click: tuple[float, float]
    truth: list[float] | None  # x1, y1, x2, y2 in reference pixels
    boxes: list[list[float]]  # top-K, best first
    scores: list[float]
    heatmap: np.ndarray  # (H, W) probabilities over the whole reference
    choices: list[dict[str, np.ndarray]]  # per layer: group -> (h, w) expert index
    num_experts: int
    title: str = ""


@torch.no_grad()
def inspect(
    predictor: Predictor,
    query: Image.Image,
    reference: Image.Image,
    click: tuple[float, float],
    truth: list[float] | None = None,
    title: str = "",
) -> Inspection:
    prepared = predictor._prepare(query, reference, click)
    device = predictor.device
    outputs = predictor.model.localize(
        prepared["query"][None].to(device), prepared["reference"][None].to(device), prepared["click"][None].to(device)
    )
    scale = reference.width / predictor.config.model.reference_size
    boxes = (outputs["boxes"][0].float().cpu() * scale).tolist()
    moe = predictor.config.model.moe
    choices = []
    if moe.ffn == "moe":  # a dense FFN has no routing to show
        choices = [{name: grid[0].cpu().numpy() for name, grid in layer["choice"].items()} for layer in outputs["aux"]]
    return Inspection(
        query=query.convert("RGB"),
        reference=reference.convert("RGB"),
        click=click,
        truth=truth,
        boxes=boxes,
        scores=outputs["scores"][0].float().cpu().tolist(),
        heatmap=outputs["heatmap"][0, 0].float().sigmoid().cpu().numpy(),
        choices=choices,
        num_experts=moe.num_experts,
        title=title,
    )


def _box_patch(box: list[float], color: str, width: float, style: str = "-") -> Rectangle:
    x1, y1, x2, y2 = box
    return Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color, linewidth=width, linestyle=style)


def prediction_figure(item: Inspection) -> Figure:
    """Query with the click | reference with ground truth and top-K boxes | heatmap over the reference."""
    figure = Figure(figsize=(15, 5.4))
    axes = figure.subplots(1, 3)
    width, height = item.reference.size
    axes[0].imshow(item.query)
    axes[0].scatter([item.click[0]], [item.click[1]], s=160, c="#ff2d55", marker="+", linewidths=3)
    axes[0].scatter([item.click[0]], [item.click[1]], s=220, facecolors="none", edgecolors="white", linewidths=1.5)
    axes[0].set_title("drone query + click")
    axes[1].imshow(item.reference)
    for rank, (box, score) in reversed(list(enumerate(zip(item.boxes, item.scores, strict=True)))):
        color = "#ff3b30" if rank == 0 else "#ffcc00"
        axes[1].add_patch(_box_patch(box, color, 2.5 if rank == 0 else 1.2, "-" if rank == 0 else "--"))
        axes[1].text(box[0], box[1] - 6, f"{rank + 1}: {score:.2f}", color=color, fontsize=8, weight="bold")
    if item.truth is not None:
        axes[1].add_patch(_box_patch(item.truth, "#34c759", 2.0))
    axes[1].set_title("satellite: ground truth (green), top-1 (red), top-K (yellow)")
    axes[2].imshow(item.reference.convert("L"), cmap="gray")
    axes[2].imshow(item.heatmap, cmap="inferno", alpha=0.6, extent=(0, width, height, 0), vmin=0.0)
    if item.truth is not None:
        axes[2].add_patch(_box_patch(item.truth, "#34c759", 1.5))
    axes[2].set_title(f"heatmap (peak {float(item.heatmap.max()):.2f})")
    for axis in axes:
        axis.set_axis_off()
    if item.title:
        figure.suptitle(item.title)
    figure.tight_layout(rect=(0, 0, 1, 0.95))
    return figure


def experts_figure(item: Inspection) -> Figure:
    """Rows: MoE layers; columns: drone/satellite × fine/coarse grids, each cell in its top-1 expert's colour."""
    if not item.choices:
        raise ValueError("this model has no experts (a dense FFN): there is no routing to show")
    groups = [name for name in GROUP_ORDER if name in item.choices[0]]
    colors = matplotlib.colormaps["tab10"].colors[: item.num_experts]
    cmap = ListedColormap(colors)
    rows, cols = len(item.choices), len(groups)
    figure = Figure(figsize=(3.2 * cols, 3.1 * rows + 0.6))
    axes = figure.subplots(rows, cols, squeeze=False)
    for layer, choice in enumerate(item.choices):
        for col, name in enumerate(groups):
            image = item.query if name.startswith("query") else item.reference
            axis = axes[layer][col]
            axis.imshow(image.convert("L"), cmap="gray", extent=(0, image.width, image.height, 0))
            axis.imshow(
                choice[name],
                cmap=cmap,
                vmin=-0.5,
                vmax=item.num_experts - 0.5,
                alpha=0.55,
                interpolation="nearest",
                extent=(0, image.width, image.height, 0),
            )
            if name.startswith("query"):
                axis.scatter([item.click[0]], [item.click[1]], s=90, c="white", marker="+", linewidths=2)
            axis.set_xticks([])
            axis.set_yticks([])
            if layer == 0:
                axis.set_title(GROUP_TITLES[name], fontsize=10)
            if col == 0:
                axis.set_ylabel(f"layer {layer + 1}", fontsize=10)
    handles = [Patch(color=colors[e], label=f"expert {e}") for e in range(item.num_experts)]
    figure.legend(handles=handles, loc="lower center", ncol=item.num_experts, frameon=False)
    figure.suptitle(f"expert chosen first per grid cell{' — ' + item.title if item.title else ''}")
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    return figure


def expert_usage(item: Inspection) -> dict[str, list[float]]:
    """Share of each view's tokens (all layers and scales) whose first choice is each expert."""
    usage = {}
    for view in ("query", "reference"):
        picks = [c[name].ravel() for c in item.choices for name in c if name.startswith(view)]
        if picks:
            counts = np.bincount(np.concatenate(picks), minlength=item.num_experts)
            usage[view] = (counts / counts.sum()).round(4).tolist()
    return usage
