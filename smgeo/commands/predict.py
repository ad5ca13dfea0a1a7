"""`smgeo predict`: localize one click; prints {"box", "score", "candidates", "latency_ms"} as JSON."""

from __future__ import annotations

import argparse
import json


def click_argument(text: str) -> tuple[float, float]:
    try:
        x, y = (float(part) for part in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--click must be X,Y in query pixels, got {text!r}") from exc
    return x, y


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--query", required=True, help="the drone image")
    parser.add_argument("--reference", required=True, help="the satellite image")
    parser.add_argument("--click", required=True, type=click_argument, help="X,Y in query pixels")
    parser.add_argument("--top-k", type=int, help="number of candidates (default: the model's)")
    parser.add_argument(
        "--window", type=int, help="slide windows of this many reference pixels over a large reference; best peak wins"
    )
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: CUDA when present)")


def run(args: argparse.Namespace) -> int:
    from PIL import Image

    from smgeo.predictor import Predictor

    predictor = Predictor(args.checkpoint, device=args.device)
    query, reference = Image.open(args.query), Image.open(args.reference)
    if args.window:
        prediction = predictor.predict_sliding(query, reference, args.click, window=args.window)
    else:
        prediction = predictor.predict(query, reference, args.click, top_k=args.top_k)
    print(json.dumps(prediction.as_json()))
    return 0
