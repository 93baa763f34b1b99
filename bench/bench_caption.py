"""Captioning next to the encoder alone: caption(), caption_many() and cold start, side by side.

    python bench/bench_caption.py            # ~3 minutes on a 2-core machine

One process loads one COCO-size checkpoint (37.25 M random but lively weights in the original
TF1 format, real COCO vocabulary: bench_engine.make_checkpoint) and times, on the same 16 JPEGs
(the seed photos, then synthetic 640x480 photos: bench_engine.bench_images), in rounds:
- the encoder alone: model.feed_image of the already preprocessed image, one image at a time;
- caption(jpeg bytes): decoding, preprocessing, encoder, beam search, Captions;
- caption_many(16 jpeg bytes), per image;
- for comparison, caption() as it was before the graph search: the same steps with the
  step-by-step search (beam_search.py).
Each round times every image both ways one after the other, so machine noise hits both alike; a
round's ratio is its summed times over its summed encoder times, and the table gives medians.
Where caption()'s time goes: decoding + preprocessing, the search as one graph call
(graph_search.py), and the search step by step (beam_search.py, the product path before the graph
search), each alone on the same images; and the search's floor: as many rounds as the graph search
ran for each image of nothing but the two matmuls every round needs (the LSTM kernel and the
softmax weights, 33 MB read per round), which no implementation of the exact search can skip.

Then fresh processes, alternating: `python -c "import tensorflow"` and
`python -m im2txt caption --model CKPT photo.jpg`, each timed from its start to its first printed
line (the import done; the first caption), with the caption process's peak RSS. The caption
process imports TensorFlow first and says so, which also gives the time from its own import to
its first caption (the same split, free of the noise between two processes). Last, the peak RSS
of a fresh process that loads the model and runs caption_many on the 16 JPEGs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_engine import bench_images, make_checkpoint, peak_rss  # noqa: E402

# Encoder batch sizes compared (the captioner uses 8 whenever more than one image waits).
ENCODER_BATCHES = (1, 4, 8, 16)
IMPORT_TF = "import tensorflow\nprint('imported', flush=True)\n"
# The command line as a user runs it, with its peak RSS (VmHWM) on stderr when it exits.
CAPTION_CLI = """
import runpy, sys
import tensorflow  # what `python -m im2txt` imports first anyway, here to time it in this process
print("imported", flush=True)
sys.argv = ["python -m im2txt", "caption", "--model", {model!r}, {photo!r}]
try:
    runpy.run_module("im2txt", run_name="__main__", alter_sys=True)
finally:
    status = open("/proc/self/status").read().split("VmHWM:")[1]
    print("VmHWM", int(status.split()[0]) / 1024, file=sys.stderr)
"""


def line_seconds(code: str, *wanted: str) -> tuple[list[float], str]:
    """Seconds from starting `python -c code` (in the repository) to its first stdout line
    starting with each of `wanted`; and its stderr."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-u", "-c", code],  # unbuffered: each line when it is printed
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seconds: dict[str, float] = {}
    for line in process.stdout:
        for prefix in wanted:
            if prefix not in seconds and line.startswith(prefix):
                seconds[prefix] = time.perf_counter() - started
    stderr = process.stderr.read()
    if process.wait() != 0 or len(seconds) != len(wanted):
        raise RuntimeError(f"{code!r} failed:\n{stderr[-2000:]}")
    return [seconds[prefix] for prefix in wanted], stderr


def timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16, help="JPEGs per round (default 16)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds, 0: none (default 5)")
    parser.add_argument("--cold", type=int, default=5, help="fresh-process runs (default 5)")
    args = parser.parse_args()

    images = bench_images(args.images)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_checkpoint(folder)
        if args.rounds:
            warm(folder, images, args.rounds)
        if args.cold:
            cold(folder, images, args.cold)


def warm(folder: Path, images: list[bytes], rounds: int) -> None:
    import tensorflow as tf

    import im2txt
    from im2txt.beam_search import beam_search
    from im2txt.config import DecodeConfig
    from im2txt.image_loading import load_image
    from im2txt.image_processing import preprocess

    decode = DecodeConfig()
    captioner = im2txt.load_captioner(folder)
    model, vocab = captioner.model, captioner.vocab
    captioner.warm_up()
    captioner.caption_many(images[:4])
    prepared = [preprocess(load_image(image).pixels)[None] for image in images]
    states = [model.feed_image(pixels) for pixels in prepared]

    def exact(state):
        beam_search(state, model.inference_step, vocab.start_id, vocab.end_id, decode)

    def step_by_step(image):  # caption() before the graph search: the same, but exact()
        exact(model.feed_image(captioner._prepare(image)[None]))

    batches = {size: [] for size in ENCODER_BATCHES}
    stacked = np.concatenate(prepared)
    for size in ENCODER_BATCHES:
        model.feed_image(stacked[:size])  # each batch size's first run optimises its graph
    encoder, single, many, before = [], [], [], []
    stages = {"prepare": [], "graph": [], "exact": [], "floor": []}
    for _ in range(rounds):
        times = np.array(
            [
                (timed(model.feed_image, pixels), timed(captioner.caption, image))
                for pixels, image in zip(prepared, images, strict=True)
            ]
        )
        encoder += list(times[:, 0])
        single += list(times[:, 1])
        many.append(timed(captioner.caption_many, images))  # all 16
        for size in ENCODER_BATCHES:  # per image, all 16 in batches of `size`
            seconds = sum(
                timed(model.feed_image, stacked[i : i + size]) for i in range(0, len(images), size)
            )
            batches[size].append(seconds / len(images))
        before += [timed(step_by_step, image) for image in images]
        for image, state in zip(images, states, strict=True):
            stages["prepare"].append(timed(captioner._prepare, image))
            stages["graph"].append(timed(captioner.decoder.search, state, decode))
            stages["exact"].append(timed(exact, state))
    searched = [
        int(captioner.decoder._search(s, 3, 20, np.ones(20)).rounds.numpy()) for s in states
    ]
    streaming = weight_streaming(model, decode.beam_size)
    streaming(tf.constant(2))
    for _ in range(rounds):
        stages["floor"] += [timed(streaming, tf.constant(n)) for n in searched]

    per_round = np.array(encoder).reshape(rounds, -1).sum(axis=1)

    def ratio(times: list[float]) -> float:
        return statistics.median(np.array(times).reshape(rounds, -1).sum(axis=1) / per_round)

    ms = 1000 * statistics.median(encoder)
    print(
        f"\nCOCO-size model, {len(images)} JPEGs, beam 3, {rounds} rounds "
        f"(median per image; ratio = round's total over its encoder total, median):"
    )
    print(f"  {'':52s} {'per image':>10s} {'x encoder':>10s}")
    print(f"  {'encoder alone (feed_image)':52s} {ms:8.1f} ms {1:10.2f}")
    for label, times, ratio_, goal in (
        ("caption(jpeg bytes)", single, ratio(single), "   (goal <= 1.15)"),
        (
            f"caption_many({len(images)} jpegs), per image",
            np.divide(many, len(images)),
            ratio(many),
            "   (goal <= 1.10)",
        ),
        ("caption() with the step-by-step search (before)", before, ratio(before), ""),
    ):
        print(f"  {label:52s} {1000 * statistics.median(times):8.1f} ms {ratio_:10.2f}{goal}")
    print("the encoder alone by batch size, and caption_many against the best (median per image):")
    best = min(ENCODER_BATCHES, key=lambda size: statistics.median(batches[size]))
    for size in ENCODER_BATCHES:
        value = 1000 * statistics.median(batches[size])
        print(f"  {f'encoder, batches of {size}':52s} {value:8.1f} ms")
    ratios = np.divide(many, len(images)) / np.array(batches[best])  # round by round
    print(
        f"  {f'caption_many per image / encoder at batch {best}':52s} "
        f"{statistics.median(ratios):8.2f} x   (goal <= 1.10)"
    )
    print("where caption()'s time goes, each alone on the same images (median per image):")
    for key, label in (
        ("prepare", "decoding + preprocessing"),
        ("graph", f"beam search, one graph call ({statistics.median(searched):.0f} rounds)"),
        ("exact", "beam search step by step (beam_search.py, before)"),
        ("floor", "its floor: the same rounds of the two weight matmuls"),
    ):
        value = 1000 * statistics.median(stages[key])
        print(f"  {label:52s} {value:8.1f} ms {value / ms:10.2f}")


def weight_streaming(model, rows: int):
    """A tf.function running N rounds of only what every search round must do whatever the
    code: read the LSTM kernel and the softmax weights once, for `rows` rows. The search's
    floor on this machine (both matmuls are bound by memory bandwidth at a few rows)."""
    import tensorflow as tf

    units = model.config.num_lstm_units
    kernel, logits = model._lstm_kernel, model._logits_weights  # [1024, 2048], [512, 12000]

    @tf.function(autograph=False)
    def run(rounds):
        def round_(i, h):
            z = tf.matmul(tf.concat([h, h], axis=1), kernel)  # [rows, 4 * units]
            top = tf.reduce_max(tf.matmul(h, logits), axis=1, keepdims=True)  # [rows, 1]
            return i + 1, tf.tanh(z[:, :units]) + 0.0 * top  # depends on both, like a round

        start = tf.fill([rows, units], 0.5)
        return tf.while_loop(lambda i, h: i < rounds, round_, (0, start))[1]

    return run


def cold(folder: Path, images: list[bytes], runs: int) -> None:
    photo = folder / "photo.jpg"
    photo.write_bytes(images[0])
    imports, colds, rss, inside = [], [], [], []
    for _ in range(runs):
        imports.append(line_seconds(IMPORT_TF, "imported")[0][0])
        code = CAPTION_CLI.format(model=str(folder), photo=str(photo))
        (imported, captioned), stderr = line_seconds(code, "imported", "  0) ")
        colds.append(captioned)
        inside.append(captioned - imported)
        rss.append(float(stderr.split("VmHWM")[-1].split()[0]))
    batch_rss = peak_rss("ours", folder, len(images))

    samples = " ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(imports, colds, strict=True))
    print(f"cold start runs (import / first caption, seconds): {samples}")
    imported, first, after = (statistics.median(v) for v in (imports, colds, inside))
    print(f"cold start, fresh processes (median of {runs}, from process start):")
    print(f"  {'import tensorflow':52s} {imported:8.2f} s")
    print(
        f"  {'python -m im2txt caption photo.jpg, first caption':52s} {first:8.2f} s"
        f"   = import + {first - imported:.2f} s (goal <= 1.5 s)"
    )
    print(f"  {'  the same process, from its TensorFlow import':52s} {after:8.2f} s")
    print("peak RSS, fresh processes:")
    print(f"  {'python -m im2txt caption photo.jpg':52s} {statistics.median(rss):8.0f} MB")
    print(f"  {'load + caption_many(16 jpegs)':52s} {batch_rss:8.0f} MB")


if __name__ == "__main__":
    main()
