"""Arguments shared by the sub-commands that build a config."""

from __future__ import annotations

import argparse
from typing import Any

from smgeo.config import SMGeoConfig, load_config, merge


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default="tiny", help="a preset (tiny, swin_t) or a YAML file (default: tiny)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config field, e.g. --set model.moe.top_k=1 (repeatable)",
    )
    parser.add_argument("--data-root", help="folder holding the dataset folders (data.data_root)")
    parser.add_argument("--data-name", help="dataset folder name, e.g. CVOGL_DroneAerial (data.data_name)")


def config_from_args(args: argparse.Namespace, extra: dict[str, Any] | None = None) -> SMGeoConfig:
    config = load_config(args.config, args.set)
    fields = {"data.data_root": args.data_root, "data.data_name": args.data_name, **(extra or {})}
    for key, value in fields.items():
        if value is not None:
            config = merge(config, _nested(key, value))
    return config


def _nested(key: str, value: Any) -> dict[str, Any]:
    for part in reversed(key.split(".")):
        value = {part: value}
    return value
