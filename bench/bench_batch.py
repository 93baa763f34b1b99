"""Batch benchmark: `batch` on Ray with 1 and 2 workers against caption_many in one process.

    python bench/bench_batch.py            # ~10 minutes on a 2-core machine; needs ray[data]

The same 200 JPEGs (the seed photos and synthetic 640x480 photos, as bench_engine.py) and the
same COCO-size checkpoint (random weights, original TF1 format, real vocabulary), captioned:
- in this process by Captioner.caption_many (loaded and warmed up first; the model load is
  timed separately);
- by caption_archive (what `python -m im2txt batch` runs) on an embedded Ray: 1 worker with
  every core's thread (as caption_many), 2 workers of one TensorFlow thread each (the default
  on 2 cores), and 2 workers of two threads each (more threads than cores). Each run starts
  Ray, loads the model in its workers and writes a .jsonl; `end to end` counts all of it,
  `steady` only from the first row to the last.
Every run's captions are checked against caption_many's (texts, and the worst relative
difference of the probabilities is printed). Rounds alternate the configurations.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_engine import bench_images, make_checkpoint  # noqa: E402

CONFIGS = [  # label, workers, TensorFlow threads per worker (None: the worker's CPU share)
    ("batch, 1 worker x 2 threads", 1, None),
    ("batch, 2 workers x 1 thread", 2, None),
    ("batch, 2 workers x 2 threads", 2, 2),
]


def run_batch(folder: Path, model: Path, out: Path, workers: int, threads: int | None) -> dict:
    from im2txt.batch import JobOptions, caption_archive

    stamps: list[tuple[float, int]] = []

    def progress(written: int, total: int) -> None:
        stamps.append((time.perf_counter(), written))

    out.unlink(missing_ok=True)
    Path(f"{out}.settings.json").unlink(missing_ok=True)
    options = JobOptions(workers=workers, worker_threads=threads)
    started = time.perf_counter()
    summary = caption_archive([str(folder)], out, model, options=options, progress=progress)
    total = time.perf_counter() - started
    (first_time, first_rows), (last_time, last_rows) = stamps[0], stamps[-1]
    assert summary.written == last_rows and summary.errors == 0, summary
    return {
        "seconds": total,
        "startup": first_time - started,
        "steady": (last_rows - first_rows) / (last_time - first_time),
        "rows": [json.loads(line) for line in out.read_text().splitlines()],
    }


def worst_difference(rows: list[dict], reference: dict[str, list]) -> float:
    worst = 0.0
    for row in rows:
        expected = reference[row["image"]]
        assert [c["text"] for c in row["captions"]] == [c.text for c in expected], row["image"]
        for got, want in zip(row["captions"], expected, strict=True):
            worst = max(worst, abs(got["probability"] - want.probability) / want.probability)
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200, help="images (default 200)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds (default 2)")
    args = parser.parse_args()

    import im2txt

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = make_checkpoint(root / "coco")
        folder = root / "photos"
        folder.mkdir()
        for i, data in enumerate(bench_images(args.images)):
            (folder / f"{i:04d}.jpg").write_bytes(data)
        names = [str(p) for p in sorted(folder.glob("*.jpg"))]
        print(f"{len(names)} JPEGs, COCO-size checkpoint (random weights), {os.cpu_count()} CPUs")

        started = time.perf_counter()
        captioner = im2txt.load_captioner(model)
        captioner.warm_up()
        load_seconds = time.perf_counter() - started

        times: dict[str, list] = {label: [] for label, _, _ in [("caption_many", 0, 0), *CONFIGS]}
        worst: dict[str, float] = {}
        reference = {}
        for _ in range(args.rounds):
            started = time.perf_counter()
            captions = captioner.caption_many(names)
            times["caption_many"].append({"seconds": time.perf_counter() - started})
            reference = dict(zip(names, captions, strict=True))
            for label, workers, threads in CONFIGS:
                result = run_batch(folder, model, root / "out.jsonl", workers, threads)
                worst[label] = max(
                    worst.get(label, 0.0), worst_difference(result["rows"], reference)
                )
                times[label].append(result)

    def median(label: str, key: str) -> float:
        return statistics.median(run[key] for run in times[label])

    many = median("caption_many", "seconds")
    print(f"\n{len(names)} images, median of {args.rounds} rounds; images/s (higher is better)")
    print(f"{'':32} {'end to end':>11} {'steady':>8} {'start-up':>9} {'worst rel. diff':>16}")
    print(f"{'caption_many, one process':32} {len(names) / many:11.2f} {len(names) / many:8.2f} "
          f"{load_seconds:8.1f}s {'(reference)':>16}")  # fmt: skip
    for label, _, _ in CONFIGS:
        seconds = median(label, "seconds")
        print(f"{label:32} {len(names) / seconds:11.2f} {median(label, 'steady'):8.2f} "
              f"{median(label, 'startup'):8.1f}s {worst[label]:16.2e}")  # fmt: skip
    print("\nstart-up: caption_many's is loading the model in this process (TensorFlow already "
          "imported);\nbatch's is from the call to the first row: Ray's start, TensorFlow's "
          "import and the model's load in each worker, the first batch.")  # fmt: skip


if __name__ == "__main__":
    main()
