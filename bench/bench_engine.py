"""Engine benchmark: this project vs the original TF1 graph driven the original way, side by side.

    python bench/bench_engine.py            # ~3 minutes on a 2-core machine

Both load the same COCO-size checkpoint (random weights, written in the original format; no real
weights can be downloaded here) with the real COCO vocabulary, and caption the same JPEGs:
the seed photos of the original demo (../shared/reference/seed-images) plus synthetic photos.

- warm per-image latency: one image at a time. The original: feed_image + one session.run per
  beam step + the original Python beam search. Ours: Captioner.caption(jpeg_bytes).
- batched throughput: ours captions all images in one caption_many call; the original has no
  batch mode, so its throughput is one image at a time.
- peak RSS: a fresh process that loads the model and captions all images (ours and the original,
  each alone), read from /proc/self/status (VmHWM).
Timings alternate between the two implementations so machine noise hits both alike.
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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.reference import original_im2txt as oi  # noqa: E402


def make_checkpoint(folder: Path) -> Path:
    vocab = oi.OriginalVocabulary(oi.real_vocab_path())
    weights = oi.random_weights(0, num_words=len(vocab))
    prefix = oi.save_original_checkpoint(weights, folder, naming="tf1.0")
    (folder / "word_counts.txt").write_bytes(oi.real_vocab_path().read_bytes())
    return Path(prefix)


def bench_images(count: int) -> list[bytes]:
    images = [oi.seed_image_bytes(name) for name in oi.seed_image_names()]
    seed = 0
    while len(images) < count:
        images.append(oi.synthetic_jpeg(seed, (640, 480)))
        seed += 1
    return images[:count]


def peak_rss(kind: str, folder: Path, count: int) -> float:
    """Peak RSS in MB of a fresh process that loads the model and captions `count` images."""
    code = f"""
import os, resource, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
sys.path.insert(0, {str(REPO)!r})
from bench.bench_engine import bench_images
from tests.reference import original_im2txt as oi
images = bench_images({count})
if {kind!r} == "ours":
    import im2txt
    captioner = im2txt.load_captioner({str(folder)!r})
    captioner.caption_many(images)
else:
    vocab = oi.OriginalVocabulary({str(folder / "word_counts.txt")!r})
    model = oi.OriginalModel()
    model.restore({str(folder)!r})
    for image in images:
        oi.original_beam_search(model, vocab, image)
# VmHWM: the peak RSS of this process image (ru_maxrss would include the parent's at fork).
status = open("/proc/self/status").read().split("VmHWM:")[1]
print(int(status.split()[0]) / 1024)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16, help="images per round (default 16)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    args = parser.parse_args()

    import im2txt

    images = bench_images(args.images)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        make_checkpoint(folder)
        print(f"checkpoint: COCO-size random weights, {len(images)} JPEGs "
              f"({time.perf_counter() - started:.1f} s to write)")  # fmt: skip

        vocab = oi.OriginalVocabulary(folder / "word_counts.txt")
        original = oi.OriginalModel()
        original.restore(folder)
        captioner = im2txt.load_captioner(folder)
        # Warm up both: graph optimisation and tracing happen on first use.
        oi.original_beam_search(original, vocab, images[0])
        captioner.caption(images[0])
        captioner.caption_many(images[:4])

        latency = {"original": [], "ours": []}
        batched = []
        for _ in range(args.rounds):
            for image in images:
                t = time.perf_counter()
                reference = oi.original_beam_search(original, vocab, image)
                latency["original"].append(time.perf_counter() - t)
                t = time.perf_counter()
                ours = captioner.caption(image)
                latency["ours"].append(time.perf_counter() - t)
                assert [c.text for c in ours] == oi.caption_texts(reference, vocab)
            t = time.perf_counter()
            captioner.caption_many(images)
            batched.append((time.perf_counter() - t) / len(images))
        original.close()

        orig_ms = statistics.median(latency["original"]) * 1000
        ours_ms = statistics.median(latency["ours"]) * 1000
        batch_ms = statistics.median(batched) * 1000
        orig_mean = statistics.mean(latency["original"]) * 1000
        print(f"\nper-image latency, warm, median of {len(latency['ours'])} (same captions):")
        print(f"  original TF1 graph + Python beam search   {orig_ms:7.1f} ms")
        print(f"  im2txt Captioner.caption                  {ours_ms:7.1f} ms")
        print(
            f"  speed-up                                  {orig_ms / ours_ms:7.2f}x  (target 1.8x)"
        )
        print(f"\nthroughput, images per second ({len(images)} images, median of {args.rounds}):")
        print(f"  original, one image at a time             {1000 / orig_mean:7.2f} /s")
        print(f"  im2txt Captioner.caption_many             {1000 / batch_ms:7.2f} /s")
        speed_up = orig_mean / batch_ms
        print(f"  speed-up                                  {speed_up:7.2f}x  (target 2.5x)")

        print("\npeak RSS of a fresh process loading the COCO-size model and captioning:")
        ours_rss = peak_rss("ours", folder, len(images))
        orig_rss = peak_rss("original", folder, len(images))
        print(f"  original                                  {orig_rss:7.0f} MB")
        print(f"  im2txt                                    {ours_rss:7.0f} MB  (target 1229 MB)")


if __name__ == "__main__":
    main()
