"""CPU inference through oneDNN: every MLP's first linear layer and its GELU in one call, every other linear layer
in oneDNN's own (5-25 % faster than the default matrix product at this model's shapes, docs/benchmarks.md).

An MLP (timm's `Mlp` in the Swin backbones, `FeedForward` in the encoder and the experts) otherwise writes its
hidden layer three times: the bias broadcast into the output, the matrix product on top, then GELU into a new
tensor. oneDNN applies the bias and GELU as it writes the product. At a 1,024 px reference the first stage's hidden
layer is 65,536 x 384 floats, and its MLP took 65 ms instead of 107 ms (docs/benchmarks.md, CPU fusion).

`fuse_for_cpu(model)` points each such MLP's `forward` at `fused_mlp` and each other `nn.Linear`'s at
`onednn_linear`; each takes its oneDNN path only where that gives what the module gives: on the CPU, float32, no
autocast, no gradient, eval mode; otherwise it calls the module's own forward. The weights and the state dict are
the model's own; `unfuse` undoes it.
"""

from __future__ import annotations

import types

import torch
from timm.layers import Mlp
from torch import nn

from smgeo.moe import FeedForward

FUSED = "_smgeo_onednn"  # set on a module routed through oneDNN


def available() -> bool:
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def mlp_layers(module: nn.Module) -> tuple[nn.Linear, nn.Linear] | None:
    """The two linear layers of a linear-GELU-linear MLP, or None for any other module."""
    if isinstance(module, Mlp) and isinstance(module.norm, nn.Identity):
        fc1, act, fc2 = module.fc1, module.act, module.fc2
    elif isinstance(module, FeedForward):
        fc1, act, fc2 = module
    else:
        return None
    plain = isinstance(act, nn.GELU) and act.approximate == "none"
    return (fc1, fc2) if plain and type(fc1) is nn.Linear and type(fc2) is nn.Linear else None


def fuse_for_cpu(model: nn.Module) -> int:
    """Route `model`'s MLPs and linear layers through oneDNN (see the module's docstring); how many modules. Does
    nothing where oneDNN is missing."""
    if not available():
        return 0
    count = 0
    for module in model.modules():
        if hasattr(module, FUSED):
            continue
        forward = fused_mlp if mlp_layers(module) is not None else onednn_linear if type(module) is nn.Linear else None
        if forward is not None:
            setattr(module, FUSED, True)
            module.forward = types.MethodType(forward, module)  # a deep copy gets its own copy's
            count += 1
    return count


def unfuse(model: nn.Module) -> None:
    for module in model.modules():
        if hasattr(module, FUSED):
            delattr(module, FUSED)
            del module.forward  # the class's forward again


def fused_mlp(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    fc1, fc2 = mlp_layers(module)
    if not _fusable(module, x, fc1, fc2):
        return type(module).forward(module, x)
    hidden = _linear(x.reshape(-1, x.shape[-1]), fc1, "gelu", "none")
    return _linear(hidden, fc2, "none", "").view(*x.shape[:-1], fc2.out_features)


def onednn_linear(module: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    if not _fusable(module, x, module):
        return nn.Linear.forward(module, x)
    return _linear(x.reshape(-1, x.shape[-1]), module, "none", "").view(*x.shape[:-1], module.out_features)


MIN_ROWS = 1024  # below about this many tokens oneDNN's call costs more than it saves (docs/benchmarks.md)


def _fusable(module: nn.Module, x: torch.Tensor, *layers: nn.Linear) -> bool:
    return (
        x.numel() >= MIN_ROWS * x.shape[-1]
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and not module.training
        and not torch.is_grad_enabled()
        and not torch.is_autocast_enabled("cpu")
        and all(layer.weight.dtype == torch.float32 for layer in layers)
    )


def _linear(x: torch.Tensor, layer: nn.Linear, activation: str, algorithm: str) -> torch.Tensor:
    return torch.ops.mkldnn._linear_pointwise(x, layer.weight, layer.bias, activation, [], algorithm)
