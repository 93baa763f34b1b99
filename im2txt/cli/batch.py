"""`batch`: caption a whole archive on Ray Data into a .jsonl, .csv or .parquet file, resumably."""

from __future__ import annotations

import argparse
import sys

from im2txt.cli.common import (
    add_decode_arguments,
    add_model_arguments,
    decode_config,
    positive_int,
    stderr_progress,
)


def add(commands) -> None:
    from im2txt.batch.values import DEFAULT_BATCH_SIZE

    parser = commands.add_parser(
        "batch",
        help="caption a whole archive on Ray (resumable)",
        description="Caption every image the INPUTs name into one file, on an embedded Ray or "
        "an existing Ray cluster. Re-running with the same --out skips the images already "
        "in it; a bad image is an error row.",
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="image files, folders (walked recursively), glob patterns (quoted), URIs, or "
        "@list.txt (one path or URI per line)",
    )  # fmt: skip
    parser.add_argument(
        "--out", required=True, metavar="FILE",
        help="output file: .jsonl (a caption --json object per line), .csv or .parquet",
    )  # fmt: skip
    add_model_arguments(parser)
    parser.add_argument(
        "--address", metavar="ADDRESS",
        help="an existing Ray cluster: auto or HOST:PORT from one of its nodes, "
        "ray://HOST:10001 from anywhere (default: an embedded Ray on this machine)",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=positive_int, metavar="N",
        help="caption workers, one model in memory each (default: one per CPU)",
    )  # fmt: skip
    parser.add_argument(
        "--batch-size", type=positive_int, default=DEFAULT_BATCH_SIZE, metavar="N",
        help=f"images per worker call (default {DEFAULT_BATCH_SIZE})",
    )  # fmt: skip
    add_decode_arguments(parser)
    # The driver never runs the network: TensorFlow is imported by the workers only.
    parser.set_defaults(run=run, tensorflow=False)


def run(args: argparse.Namespace) -> int:
    from im2txt.batch.archive import BatchInterrupted, caption_archive
    from im2txt.batch.values import JobOptions, JobPlan

    options = JobOptions(address=args.address, workers=args.workers, batch_size=args.batch_size)
    progress = stderr_progress("Captioning")

    def on_plan(plan: JobPlan) -> None:
        print(f"Model: {plan.model}", file=sys.stderr)
        print(
            f"Ray: {plan.where}, {plan.nodes} node{'s' * (plan.nodes != 1)}, {plan.cpus:g} "
            f"CPUs; {plan.workers} worker{'s' * (plan.workers != 1)} of "
            f"{plan.cpus_per_worker:g} CPU ({plan.threads_per_worker} TensorFlow "
            f"thread{'s' * (plan.threads_per_worker != 1)} each); {plan.images} images to caption",
            file=sys.stderr,
        )

    try:
        summary = caption_archive(
            args.inputs, args.out, args.model, decode_config(args), options, on_plan, progress
        )
    except BatchInterrupted as stop:
        if sys.stderr.isatty():
            print(file=sys.stderr)  # end the progress bar's line
        print(
            f"interrupted: {stop.written} of {stop.total} images written to {args.out}; "
            "run the same command again to go on",
            file=sys.stderr,
        )
        return 130
    # A rerun with every image already written starts no job: no rate to give.
    timing = (
        f"; {summary.seconds:.1f} s, {summary.images_per_second:.2f} images/s "
        f"(first row after {summary.startup_seconds:.1f} s)"
        if summary.written
        else "; nothing left to caption"
    )
    print(
        f"Done: {summary.images} images, {summary.written} captioned by this run "
        f"({summary.errors} error{'s' * (summary.errors != 1)}), {summary.skipped} already in "
        f"{args.out}{timing}",
        file=sys.stderr,
    )
    return 0
