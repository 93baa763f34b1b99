"""`train-demo`: training the demo model on generated scenes, with progress."""

from __future__ import annotations

import argparse
from pathlib import Path

from im2txt.cli.common import positive_int, stderr_progress
from im2txt.demo.training import train_demo

_TRAINING_STAGES = {
    "scenes": "Rendering scenes ",
    "encoder": "Training encoder ",
    "captions": "Training captions",
    "evaluating": "Scoring held-out ",
}


def add(commands) -> None:
    parser = commands.add_parser(
        "train-demo",
        help="train the demo model on generated scenes",
        description="Train the small demo captioner on generated scenes of coloured shapes "
        "(about 7 minutes on 2 CPU cores) and write it, with its model card, as a model folder. "
        "The same seed gives the same weights.",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("im2txt/demo/model"), metavar="DIR",
        help="folder to write (default im2txt/demo/model, the shipped demo model)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    parser.add_argument(
        "--steps", type=positive_int, metavar="N",
        help="caption-training steps (default: those of the shipped model)",
    )  # fmt: skip
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    bars = {stage: stderr_progress(label) for stage, label in _TRAINING_STAGES.items()}
    report = train_demo(
        args.out,
        seed=args.seed,
        steps=args.steps,
        progress=lambda p: bars[p.stage](p.done, p.total),
    )
    print(
        f"Wrote {report.out} ({report.size_bytes / 1e6:.2f} MB) in {report.seconds / 60:.1f} min; "
        f"final caption loss {report.final_loss:.4f}"
    )
    evaluation = report.evaluation
    if evaluation is not None:
        for label, accuracy in (
            ("one object, colour and shape", evaluation.one_object),
            ("two objects, both named", evaluation.two_object),
            ("three objects, all named", evaluation.three_object),
            ("relation, where stated", evaluation.relation),
        ):
            print(f"  {label:30} {accuracy.rate:6.1%}  ({accuracy.correct}/{accuracy.total})")
        print(f"  {'BLEU-4':30} {evaluation.bleu.score:6.3f}")
    return 0
