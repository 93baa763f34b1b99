"""The command line: argparse over the public API. `python -m im2txt --help` lists the commands."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from im2txt.config import DecodeConfig

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
_DEFAULTS = DecodeConfig()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    _import_tensorflow_quietly()
    from im2txt.errors import Im2txtError

    try:
        return args.run(args)
    except Im2txtError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


# What TensorFlow's C++ side prints on import whatever TF_CPP_MIN_LOG_LEVEL says (it logs before
# its log settings are read): the oneDNN and CUDA notices, the CPU feature note.
_IMPORT_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog|[IW]0000 |To enable the following "
    r"instructions|Instructions for updating|[IWE]0000 .*(cuda|cuInit)|.*(oneDNN|TensorRT|"
    r"cpu_feature_guard))"
)


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with its start-up notices kept off stderr; anything else it prints (a
    real problem) is passed on. Logs of the commands themselves go to stderr as usual."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # device start-up logs too ("failed call to cuInit")
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode("utf-8", "replace").splitlines():
                if line.strip() and not _IMPORT_NOISE.match(line):
                    print(line, file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m im2txt",
        description="Caption images and videos with Google's im2txt (Show and Tell) model.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_caption(commands)
    _add_video(commands)
    _add_download(commands)
    _add_convert(commands)
    _add_train_demo(commands)
    return parser


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        metavar="PATH",
        help="checkpoint folder or prefix, or converted model folder "
        "(default: a model under model/, else the demo model)",
    )


def add_decode_arguments(parser: argparse.ArgumentParser, max_length: bool = True) -> None:
    parser.add_argument(
        "--beam-size", type=_positive_int, default=_DEFAULTS.beam_size, metavar="N",
        help=f"captions kept per step and returned (default {_DEFAULTS.beam_size})",
    )  # fmt: skip
    if max_length:
        parser.add_argument(
            "--max-length", type=_positive_int, default=_DEFAULTS.max_caption_length, metavar="N",
            help="maximum caption length in tokens, <S> and </S> included "
            f"(default {_DEFAULTS.max_caption_length})",
        )  # fmt: skip
        parser.add_argument(
            "--length-normalization", type=_non_negative_float, metavar="F",
            default=_DEFAULTS.length_normalization_factor,
            help="rank complete captions by logprob / length**F (default 0: raw probability)",
        )  # fmt: skip


def load_model_for(args: argparse.Namespace):
    """Load the model named on the command line, saying on stderr what was loaded."""
    from im2txt.captioner import load_captioner

    captioner = load_captioner(args.model, getattr(args, "vocab", None))
    info = captioner.info
    print(f"Model: {info.name}, {info.vocab_size} words, {info.source}", file=sys.stderr)
    if info.kind == "demo":
        print(
            "Note: the demo model only knows generated shapes. For photos, put the COCO "
            "checkpoint in model/coco/ (README: 'Use the COCO model').",
            file=sys.stderr,
        )
    return captioner


# --- caption -------------------------------------------------------------------------------------


def _add_caption(commands) -> None:
    parser = commands.add_parser(
        "caption",
        help="caption image files or folders",
        description="Caption images. Folders are walked for image files, in sorted order.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    add_model_arguments(parser)
    parser.add_argument(
        "--vocab", metavar="FILE", help="word_counts.txt (default: beside the model)"
    )
    add_decode_arguments(parser)
    parser.add_argument(
        "--json", action="store_true", help="print one JSON array on stdout instead of text"
    )
    parser.set_defaults(run=_run_caption)


def image_files(paths: Sequence[str]) -> list[str]:
    """Files named on the command line as given; folders walked for images, sorted."""
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            walked = []
            for folder, subfolders, names in os.walk(path):
                subfolders.sort()
                walked += [
                    os.path.join(folder, name)
                    for name in names
                    if Path(name).suffix.lower() in IMAGE_SUFFIXES and not name.startswith(".")
                ]
            files += sorted(walked)
        else:
            files.append(path)
    return files


def _run_caption(args: argparse.Namespace) -> int:
    files = image_files(args.paths)
    if not files:
        print(f"error: no image files in {', '.join(args.paths)}", file=sys.stderr)
        return 1
    captioner = load_model_for(args)
    results = captioner.caption_each(
        files,
        names=files,
        beam_size=args.beam_size,
        max_length=args.max_length,
        length_normalization=args.length_normalization,
        progress=_stderr_progress("Captioning") if len(files) > captioner.batch_size else None,
    )
    if args.json:
        out = [result.to_dict() for result in results]
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for result in results:
            if result.error:
                print(f"error: {result.error}", file=sys.stderr)
                continue
            # The original run_inference.py's format.
            print(f"Captions for image {os.path.basename(result.name)}:")
            for i, caption in enumerate(result.captions):
                print(f"  {i}) {caption.text} (p={caption.probability:f})")
    return 1 if any(result.error for result in results) else 0


# --- video ---------------------------------------------------------------------------------------


def _add_video(commands) -> None:
    from im2txt.video import DEFAULT_EVERY, MAX_DURATION

    parser = commands.add_parser(
        "video",
        help="caption a video clip and render it with the captions",
        description="Caption the frame shown every SECONDS of a clip, merge equal captions into "
        "timed segments, print them, and write the clip with the captions drawn on it "
        "(H.264 MP4 with the original audio) and optional subtitle files.",
    )
    parser.add_argument("input", metavar="INPUT", help="video file (mp4, mov, mkv, webm, avi, ...)")
    parser.add_argument(
        "-o", "--output", metavar="OUTPUT.mp4",
        help="captioned clip to write (default: INPUT's name + _captioned.mp4, beside it)",
    )  # fmt: skip
    parser.add_argument(
        "--every", type=_positive_float, default=DEFAULT_EVERY, metavar="SECONDS",
        help=f"seconds between captioned frames (default {DEFAULT_EVERY:g})",
    )  # fmt: skip
    add_model_arguments(parser)
    add_decode_arguments(parser, max_length=False)
    parser.add_argument("--srt", metavar="FILE", help="also write the segments as SubRip subtitles")
    parser.add_argument("--vtt", metavar="FILE", help="also write the segments as WebVTT subtitles")
    parser.add_argument(
        "--json", metavar="FILE", help="also write segments and every sample's captions as JSON"
    )
    parser.add_argument(
        "--max-duration", type=_non_negative_float, default=MAX_DURATION, metavar="SECONDS",
        help=f"refuse longer clips (default {MAX_DURATION:g}; 0: no limit)",
    )  # fmt: skip
    parser.set_defaults(run=_run_video)


def _run_video(args: argparse.Namespace) -> int:
    from im2txt.ffmpeg import probe
    from im2txt.video import default_output, make_captioned_video

    for path in (args.srt, args.vtt, args.json):
        if path and not Path(path).resolve().parent.is_dir():
            print(f"error: {path}: its folder does not exist", file=sys.stderr)
            return 1
    info = probe(args.input)  # a bad file fails here, before the model loads
    audio = f"audio {info.audio_codec}" if info.has_audio else "no audio"
    print(f"Video: {info.path}, {info.duration:.1f} s, {info.width}x{info.height}, "
          f"{info.fps:.3f} fps, {audio}", file=sys.stderr)  # fmt: skip
    captioner = load_model_for(args)
    output = Path(args.output) if args.output else default_output(args.input)
    result = make_captioned_video(
        captioner,
        info,
        output,
        every=args.every,
        beam_size=args.beam_size,
        max_duration=args.max_duration or None,
        progress=_stage_progress(),
    )
    for segment in result.captions.segments:
        print(f"[{_clock(segment.start)} - {_clock(segment.end)}] {segment.text} "
              f"(p={segment.probability:f})")  # fmt: skip
    print(f"Wrote {result.output}", file=sys.stderr)
    for path, text in ((args.srt, result.srt), (args.vtt, result.vtt), (args.json, result.json)):
        if path:
            try:
                Path(path).write_text(text, encoding="utf-8")
            except OSError as e:
                print(f"error: {path}: cannot write ({e.strerror})", file=sys.stderr)
                return 1
            print(f"Wrote {path}", file=sys.stderr)
    return 0


def _stage_progress():
    """A progress bar on stderr per stage of the video work ("Captioning", "Rendering")."""
    bars = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            bars[stage] = _stderr_progress(stage.capitalize())
        bars[stage](done, total)

    return report


def _clock(seconds: float) -> str:
    """mm:ss.s, or h:mm:ss.s from an hour on."""
    tenths = round(seconds * 10)
    minutes, tenths = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    clock = f"{minutes:02d}:{tenths // 10:02d}.{tenths % 10}"
    return f"{hours}:{clock}" if hours else clock


# --- download ------------------------------------------------------------------------------------


def _add_download(commands) -> None:
    parser = commands.add_parser(
        "download",
        help="download a model archive and install it in model/coco",
        description="Download a .tar.gz, .tgz or .zip of an im2txt checkpoint folder (or of a "
        "converted model) with its word_counts.txt, check that it loads, and put it where the "
        "app and the other commands look first. Nothing is left behind if any step fails.",
    )
    parser.add_argument("url", metavar="URL", help="http:// or https:// link to the archive")
    parser.add_argument(
        "--sha256", metavar="HEX", help="the archive's expected SHA-256, checked before unpacking"
    )
    parser.add_argument(
        "--dest", metavar="DIR", help="folder to install into (default: model/coco)"
    )
    parser.add_argument(
        "--force", action="store_true", help="replace a model already in the destination"
    )
    parser.set_defaults(run=_run_download)


def _run_download(args: argparse.Namespace) -> int:
    from im2txt import discovery, download

    dest = Path(args.dest) if args.dest else download.default_destination()
    print(f"Downloading {download.shown_url(args.url)} to {dest}", file=sys.stderr)
    progress = _ByteProgress("Received")
    try:
        path = download.download_model(
            args.url, dest, sha256=args.sha256, force=args.force, progress=progress
        )
    finally:
        progress.finish()
    found = discovery.inspect_folder(path)
    print(f"Installed {found.label if found else 'model'} in {path}")
    return 0


# --- convert -------------------------------------------------------------------------------------


def _add_convert(commands) -> None:
    parser = commands.add_parser(
        "convert",
        help="convert a checkpoint to the project's compact model format",
        description="Convert an original im2txt checkpoint (or any model folder) to the "
        "project's own format: a folder holding one weights file, its vocabulary and "
        "config.json. float16 halves the size: the COCO model then fits in a GitHub "
        "repository (< 100 MB).",
    )
    parser.add_argument(
        "src", metavar="SRC", help="checkpoint folder or prefix, or converted model folder"
    )
    parser.add_argument("dst", metavar="DST", help="folder to create (must not exist, or be empty)")
    parser.add_argument(
        "--dtype", choices=("float32", "float16"), default="float32",
        help="how to store the weights (default float32: exactly the checkpoint's values)",
    )  # fmt: skip
    parser.add_argument(
        "--vocab", metavar="FILE", help="word_counts.txt (default: beside the checkpoint)"
    )
    parser.set_defaults(run=_run_convert)


def _run_convert(args: argparse.Namespace) -> int:
    from im2txt.bundle import WEIGHTS_FILE, convert_model

    info = convert_model(args.src, args.dst, dtype=args.dtype, vocab=args.vocab)
    size = (Path(args.dst) / WEIGHTS_FILE).stat().st_size
    print(
        f"Converted {info.name}: {info.vocab_size} words, {info.parameters:,} weights, "
        f"{WEIGHTS_FILE} {size / 1e6:.1f} MB, in {args.dst}"
    )
    return 0


# --- train-demo ----------------------------------------------------------------------------------

_TRAINING_STAGES = {
    "scenes": "Rendering scenes ",
    "encoder": "Training encoder ",
    "captions": "Training captions",
    "evaluating": "Scoring held-out ",
}


def _add_train_demo(commands) -> None:
    parser = commands.add_parser(
        "train-demo",
        help="train the demo model on generated scenes",
        description="Train the small demo captioner on generated scenes of coloured shapes "
        "(about 7 minutes on 2 CPU cores) and write it, with its model card, as a model folder. "
        "The same seed gives the same weights.",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("model/demo"), metavar="DIR",
        help="folder to write (default model/demo)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    parser.add_argument(
        "--steps", type=_positive_int, metavar="N",
        help="caption-training steps (default: those of the shipped model)",
    )  # fmt: skip
    parser.set_defaults(run=_run_train_demo)


def _run_train_demo(args: argparse.Namespace) -> int:
    from im2txt.demo_training import train_demo

    bars = {stage: _stderr_progress(label) for stage, label in _TRAINING_STAGES.items()}
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


# --- helpers -------------------------------------------------------------------------------------


def _stderr_progress(label: str):
    """A progress bar on stderr, redrawn when it moves; one line at the end when not a terminal."""
    shown = {"filled": -1}
    live = sys.stderr.isatty()

    def report(done: int, total: int) -> None:
        width = 30
        filled = width * min(done, total) // max(total, 1)
        finished = done >= total
        if (live and filled != shown["filled"]) or finished:
            bar = f"{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
            print(f"\r{bar}" if live else bar, end="\n" if finished else "", file=sys.stderr,
                  flush=True)  # fmt: skip
            shown["filled"] = filled

    return report


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


class _ByteProgress:
    """(bytes done, bytes expected or None) -> one updating stderr line, a bar when the size is
    known; finish() ends the line."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.shown = ""

    def __call__(self, done: int, total: int | None) -> None:
        if total:
            width = 30
            filled = width * min(done, total) // total
            bar = f"[{'#' * filled}{'.' * (width - filled)}] "
            text = f"{self.label} {bar}{done / 1e6:.1f}/{total / 1e6:.1f} MB"
        else:
            text = f"{self.label} {done / 1e6:.1f} MB"
        if text != self.shown:
            print(f"\r{text}", end="", file=sys.stderr, flush=True)
            self.shown = text

    def finish(self) -> None:
        if self.shown:
            print(file=sys.stderr)
            self.shown = ""
