"""Load benchmark: the original TF1 checkpoint vs the converted float32 and float16 models.

    python bench/bench_load.py                 # ~3 minutes on a 2-core machine
    python bench/bench_load.py --checkpoint model/coco   # a real checkpoint, not random weights

Without --checkpoint, a COCO-size checkpoint with random weights is written in the original format
(TF 1.0 names, the real COCO vocabulary; no real weights can be downloaded here). It is converted
with convert_model to float32 and float16 bundles. Then, in rounds, each of the three is loaded by
a fresh `python -c` process running the same code (the order rotates every round, so machine
noise hits all alike), which reports, timed from just before the parent started it:
- import: Python and TensorFlow imported (the same for all three: they all build a TF model);
- loaded: load_captioner(path) returned; load = loaded - import;
- first caption: one seed photo captioned (graph tracing included);
and its peak RSS (VmHWM from /proc/self/status; ru_maxrss would include the parent's at fork)
after loading and after the first caption. Files are in the page cache (warm start).

Then: sizes on disk; the captions of the six seed photos by each form (float32 must equal the
checkpoint exactly; float16 is compared with float32); and download_model of the checkpoint as a
.tar.gz from a local HTTP server in a fresh process (time, peak RSS), for the app's memory budget.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.reference import original_im2txt as oi  # noqa: E402

FORMS = ("checkpoint", "float32", "float16")
PHOTO = "COCO_val2014_000000224477.jpg"

LOAD = """
import json, os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
sys.path.insert(0, {repo!r})
import tensorflow
imported = time.time()
import im2txt
from tests.reference import original_im2txt as oi
photo = oi.seed_image_bytes({photo!r})
started = time.time()
captioner = im2txt.load_captioner({path!r})
loaded = time.time()
rss_loaded = {hwm}
captioner.caption(photo)
captioned = time.time()
print(json.dumps(dict(imported=imported, started=started, loaded=loaded, captioned=captioned,
                      rss_loaded=rss_loaded, rss_captioned={hwm})))
"""
DOWNLOAD = """
import json, os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
sys.path.insert(0, {repo!r})
from im2txt.storage.install import download_model
download_model({url!r}, {dest!r})
print(json.dumps(dict(done=time.time(), rss={hwm})))
"""
# VmHWM: the peak RSS of this process, in MB.
HWM = "int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) / 1024"


def make_checkpoint(folder: Path) -> Path:
    vocab = oi.OriginalVocabulary(oi.real_vocab_path())
    weights = oi.random_weights(0, num_words=len(vocab))
    prefix = oi.save_original_checkpoint(weights, folder, naming="tf1.0")
    shutil.copy(oi.real_vocab_path(), folder / "word_counts.txt")
    return Path(prefix)


def run_child(code: str) -> tuple[float, dict]:
    env = dict(os.environ, no_proxy="*", NO_PROXY="*")
    spawned = time.time()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env
    )
    if result.returncode:
        sys.exit(f"child process failed:\n{result.stderr[-3000:]}")
    return spawned, json.loads(result.stdout.strip().splitlines()[-1])


def measure_load(path: Path) -> dict:
    code = LOAD.format(repo=str(REPO), photo=PHOTO, path=str(path), hwm=HWM)
    spawned, t = run_child(code)
    return {
        "import": t["imported"] - spawned,
        "load": t["loaded"] - t["started"],
        "loaded": t["loaded"] - spawned,
        "caption": t["captioned"] - spawned,
        "rss_loaded": t["rss_loaded"],
        "rss_captioned": t["rss_captioned"],
    }


def folder_size(path: Path) -> int:
    folder = path if path.is_dir() else path.parent
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def weights_size(form: str, path: Path) -> int:
    if form == "checkpoint":
        return sum(p.stat().st_size for p in path.parent.glob(f"{path.name}.data-*"))
    return (path / "weights.npz").stat().st_size


def compare_captions(paths: dict[str, Path]) -> None:
    import im2txt

    photos = oi.seed_image_names()
    found = {}
    for form, path in paths.items():
        captioner = im2txt.load_captioner(path)
        found[form] = captioner.caption_many([oi.seed_image_bytes(n) for n in photos])
        del captioner
    exact = found["float32"] == found["checkpoint"]
    print(f"\ncaptions of the {len(photos)} seed photos (beam 3):")
    print(f"  float32 bundle = checkpoint, probabilities included: {'yes' if exact else 'NO'}")
    top = sum(
        a[0].text == b[0].text for a, b in zip(found["float16"], found["float32"], strict=True)
    )
    beams = sum(
        [c.text for c in a] == [c.text for c in b]
        for a, b in zip(found["float16"], found["float32"], strict=True)
    )
    print(f"  float16 vs float32: top caption equal on {top}/{len(photos)} photos, "
          f"all 3 captions equal on {beams}/{len(photos)}")  # fmt: skip
    for name, f32, f16 in zip(photos, found["float32"], found["float16"], strict=True):
        mark = "=" if f32[0].text == f16[0].text else "≠"
        print(f"    {name:32s} float32: {f32[0].text!r}")
        if mark == "≠":
            print(f"    {'':32s} float16: {f16[0].text!r}")


def measure_download(checkpoint: Path, work: Path) -> None:
    archive = work / "coco.tar.gz"
    started = time.perf_counter()
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        tar.add(checkpoint.parent, arcname="im2txt-coco")
    packed = time.perf_counter() - started
    served = archive.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(served)))
            self.end_headers()
            self.wfile.write(served)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/coco.tar.gz"
        dest = work / "downloaded" / "coco"
        spawned, t = run_child(DOWNLOAD.format(repo=str(REPO), url=url, dest=str(dest), hwm=HWM))
    finally:
        server.shutdown()
        server.server_close()
    print(f"\ndownload_model, {len(served) / 1e6:.0f} MB .tar.gz from 127.0.0.1 "
          f"(packed in {packed:.0f} s), fresh process:")  # fmt: skip
    print(f"  stream + SHA-256 + unpack + check + move: {t['done'] - spawned:5.1f} s from start, "
          f"peak RSS {t['rss']:.0f} MB")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="processes per format (default 5)")
    parser.add_argument("--checkpoint", type=Path, help="a real checkpoint folder or prefix")
    parser.add_argument("--no-download", action="store_true", help="skip the download run")
    args = parser.parse_args()

    from im2txt.storage.checkpoint import checkpoint_prefix
    from im2txt.storage.convert import convert_model

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.checkpoint:
            prefix = checkpoint_prefix(args.checkpoint)
            print(f"checkpoint: {prefix}")
        else:
            started = time.perf_counter()
            prefix = make_checkpoint(work / "checkpoint")
            print(f"checkpoint: COCO-size random weights, original format "
                  f"({time.perf_counter() - started:.1f} s to write)")  # fmt: skip
        paths = {"checkpoint": prefix}
        for dtype in ("float32", "float16"):
            started = time.perf_counter()
            convert_model(prefix, work / dtype, dtype=dtype)
            print(f"convert to {dtype}: {time.perf_counter() - started:.1f} s")
            paths[dtype] = work / dtype

        print("\nsizes on disk:")
        for form in FORMS:
            print(f"  {form:10s} weights {weights_size(form, paths[form]) / 1e6:6.1f} MB, "
                  f"folder {folder_size(paths[form]) / 1e6:6.1f} MB")  # fmt: skip

        runs: dict[str, list[dict]] = {form: [] for form in FORMS}
        for round_ in range(args.rounds):
            order = FORMS[round_ % 3 :] + FORMS[: round_ % 3]
            for form in order:
                runs[form].append(measure_load(paths[form]))
            print(f"\rround {round_ + 1}/{args.rounds}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)

        def median(form: str, key: str) -> float:
            return statistics.median(run[key] for run in runs[form])

        print(f"\nfresh process per load, median of {args.rounds} (seconds from process start; "
              "peak RSS in MB):")  # fmt: skip
        print(f"  {'':10s} {'import':>7s} {'load':>7s} {'loaded':>7s} {'caption':>8s} "
              f"{'RSS loaded':>11s} {'RSS caption':>12s}")  # fmt: skip
        for form in FORMS:
            seconds = [median(form, key) for key in ("import", "load", "loaded", "caption")]
            rss = [median(form, key) for key in ("rss_loaded", "rss_captioned")]
            print(f"  {form:10s} {seconds[0]:7.2f} {seconds[1]:7.2f} {seconds[2]:7.2f} "
                  f"{seconds[3]:8.2f} {rss[0]:11.0f} {rss[1]:12.0f}")  # fmt: skip
        base = median("checkpoint", "load")
        for form in FORMS[1:]:
            print(
                f"  load_captioner, {form} vs checkpoint: {base / median(form, 'load'):.2f}x faster"
            )

        compare_captions(paths)
        if not args.no_download:
            measure_download(prefix, work)


if __name__ == "__main__":
    main()
