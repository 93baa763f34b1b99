"""`python -m im2txt batch` on real Ray: an embedded Ray, a two-node cluster on 127.0.0.1, faults.

The oracle is Captioner.caption_many in this process, on the same images. Every run is a real
`python -m im2txt batch` process in a process group of its own; kills are real SIGKILLs of
Ray worker processes or of the driver; teardown kills whatever a test started.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fixtures.paths import REPO, SEED_IMAGES
from fixtures.ray_processes import (
    BatchRun,
    LocalCluster,
    run_batch,
    session_processes,
    wait_for,
)
from fixtures.tiny_model import TINY_WORDS, write_tiny_bundle
from im2txt.storage.locations import SHIPPED_DEMO
from tests.reference import original_im2txt as oi

pytestmark = pytest.mark.slow

# The tolerance on probabilities: a worker's batches group the images otherwise than caption_many's,
# and encoder batches of other sizes round differently (tests/test_work_queue.py measures the same
# bound for photos batched across visitors). The words are compared exactly.
RELATIVE = 5e-5
MANY = 160
WORKER = r"^ray::MapWorker\(MapBatches\(CaptionWorker\)\)"


@pytest.fixture(scope="module")
def cluster():
    """Two nodes of one CPU each on 127.0.0.1 (each caption worker gets a node of its own), the
    head running Ray Client's server."""
    cluster = LocalCluster(nodes=[1, 1], client=True)
    yield cluster
    cluster.close()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_tiny_bundle(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """The seed photos, generated PNGs in a sub-folder, a broken JPEG."""
    folder = tmp_path_factory.mktemp("photos")
    for name in oi.seed_image_names():
        shutil.copy(SEED_IMAGES / name, folder / name)
    rng = np.random.default_rng(3)
    (folder / "generated").mkdir()
    for i in range(5):
        pixels = rng.integers(0, 256, (60 + 7 * i, 80, 3), np.uint8)
        Image.fromarray(pixels).save(folder / "generated" / f"g{i}.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a JPEG")
    return folder


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> Path:
    """160 copies of an 800x600 photo under distinct names: long enough a run to stop midway."""
    folder = tmp_path_factory.mktemp("many")
    data = oi.synthetic_jpeg(7, (800, 600))
    for i in range(MANY):
        (folder / f"{i:03d}.jpg").write_bytes(data)
    return folder


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# caption_many in a fresh process, TensorFlow given `threads` (None: its default, every core).
_ORACLE = """
import json, sys
import im2txt
model, beam_size, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
decode = im2txt.DecodeConfig(beam_size=beam_size)
found = im2txt.load_captioner(model).caption_many(names, decode=decode)
print(json.dumps([[[c.text, c.probability, c.log_probability] for c in cs] for cs in found]))
"""


def assert_matches_caption_many(found: list[dict], model: Path, threads: int | None,
                                beam_size: int = 3) -> None:  # fmt: skip
    """Rows equal caption_many's captions on the same images: texts in order, probabilities to
    1e-6 relative. TensorFlow's sums depend on its thread count (~1e-5 relative), so the
    oracle runs with the workers' threads."""
    good = [row for row in found if "captions" in row]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_NUM_")}
    if threads is not None:
        env.update(TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS=str(threads))
    result = subprocess.run(
        [sys.executable, "-c", _ORACLE, str(model), str(beam_size), *(r["image"] for r in good)],
        cwd=REPO, env={**env, "TF_CPP_MIN_LOG_LEVEL": "2"}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    expected = json.loads(result.stdout.splitlines()[-1])
    assert len(expected) == len(good)
    for row, captions in zip(good, expected, strict=True):
        assert [c["text"] for c in row["captions"]] == [c[0] for c in captions], row["image"]
        for got, (_, probability, log_probability) in zip(row["captions"], captions, strict=True):
            assert got["probability"] == pytest.approx(probability, rel=RELATIVE)
            assert got["log_probability"] == pytest.approx(log_probability, rel=RELATIVE)


def rows_so_far(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


# --- embedded Ray ------------------------------------------------------------------------------


def test_embedded_ray_gives_caption_manys_captions_and_error_rows(tmp_path, photos):
    """One worker owns the machine: TensorFlow's threads, and so its sums, are caption_many's."""
    out = tmp_path / "captions.jsonl"
    missing = photos / "not-there.jpg"
    args = [photos, missing, "--out", out, "--model", SHIPPED_DEMO, "--workers", "1"]
    before = set(Path("/tmp").glob("im2txt-ray-*"))
    status, err = run_batch(args, ray_tmpdir=False)
    assert status == 0, err
    assert set(Path("/tmp").glob("im2txt-ray-*")) == before  # its Ray's files went with it
    found = rows(out)
    names = [row["image"] for row in found]
    walked = sorted(str(path) for path in photos.rglob("*") if path.is_file())
    assert names == [*walked, str(missing)]  # input order (a folder walked sorted), each once
    broken = found[names.index(str(photos / "broken.jpg"))]
    assert set(broken) == {"image", "error"}
    assert broken["error"].startswith(f"{photos / 'broken.jpg'}: ")
    assert found[-1] == {"image": str(missing), "error": f"{missing}: file not found"}
    assert_matches_caption_many(found, SHIPPED_DEMO, threads=None)
    cpus = os.cpu_count()
    assert f"Ray: embedded Ray, 1 node, {cpus} CPUs; 1 worker of {cpus} CPU ({cpus} " in err
    summary = [line for line in err.splitlines() if line.startswith("Done:")]
    assert summary and summary[0].startswith(
        f"Done: {len(names)} images, {len(names)} captioned by this run (2 errors), 0 already in"
    )
    assert "images/s" in summary[0]

    # Everything is there: a re-run starts no Ray and leaves the file as it was.
    before = out.read_bytes()
    status, err = run_batch(args)
    assert status == 0, err
    assert "Ray:" not in err
    assert f"0 captioned by this run (0 errors), {len(names)} already in" in err
    assert err.rstrip().endswith("; nothing left to caption"), err
    assert out.read_bytes() == before

    # Another beam size would mix two kinds of captions in one file: refused, file untouched.
    status, err = run_batch([photos, "--out", out, "--model", SHIPPED_DEMO, "--beam-size", "5"])
    assert status == 1 and "beam size 3" in err and "beam size 5" in err
    assert out.read_bytes() == before


def stop_midway(run: BatchRun, out: Path, signum: int, group: bool) -> bytes:
    """Send `signum` to the driver (or, as a terminal's Ctrl-C, its process group) once it has
    written 8 rows; the file's complete lines after it stopped."""
    before = rows_so_far(out)
    try:
        wait_for(lambda: rows_so_far(out) >= before + 8, timeout=180, what="8 new rows")
        (os.killpg if group else os.kill)(run.process.pid, signum)
        run.process.wait(timeout=60)
    finally:
        run.close()  # Ray's processes of a killed driver go too
    written = out.read_bytes()
    complete = written[: written.rfind(b"\n") + 1]
    assert before + 8 <= complete.count(b"\n") < MANY, "the run was not stopped midway"
    return complete


def test_ctrl_c_or_a_killed_driver_lose_nothing_and_reruns_write_each_image_once(
    tmp_path, many, tiny
):
    out = tmp_path / "captions.jsonl"
    args = [many, "--out", out, "--model", tiny, "--batch-size", "4"]

    run = BatchRun(args)
    first = stop_midway(run, out, signal.SIGINT, group=True)  # Ctrl-C in a terminal
    assert run.process.returncode == 130
    written = first.count(b"\n")
    assert run.stderr.strip().splitlines()[-1] == (
        f"interrupted: {written} of {MANY} images written to {out}; "
        "run the same command again to go on"
    )

    second = stop_midway(BatchRun(args), out, signal.SIGKILL, group=False)
    assert second.startswith(first) and len(second) > len(first)

    status, err = run_batch(args)
    assert status == 0, err
    assert out.read_bytes().startswith(second)  # nothing written before a stop was lost
    found = rows(out)
    counts = Counter(row["image"] for row in found)
    assert len(found) == MANY and set(counts.values()) == {1}
    assert sorted(counts) == sorted(str(p) for p in many.glob("*.jpg"))
    assert_matches_caption_many(found, tiny, threads=1)  # 2 workers of 1 CPU on 2 cores


# --- a two-node cluster on 127.0.0.1 -------------------------------------------------------------


def test_two_node_cluster_gives_caption_manys_captions(tmp_path, photos, cluster):
    """A COCO-size checkpoint (original TF1 format) reaches both nodes through the object store:
    its folder is deleted as soon as the driver has read it."""
    model = tmp_path / "coco"
    weights = oi.random_weights(0, num_words=len(oi.OriginalVocabulary(oi.real_vocab_path())))
    oi.save_original_checkpoint(weights, model, naming="tf1.0")
    shutil.copy(oi.real_vocab_path(), model / "word_counts.txt")
    reference = tmp_path / "reference"
    shutil.copytree(model, reference)

    out = tmp_path / "captions.jsonl"
    seeds = [str(photos / name) for name in oi.seed_image_names()]
    run = BatchRun([*seeds, "--out", out, "--model", model, "--address", cluster.address])
    try:
        wait_for(lambda: "Ray:" in run.stderr, timeout=120, what="the job's plan")
        shutil.rmtree(model)  # the model is in the object store now
        status, err = run.finish()
    finally:
        run.close()
    assert status == 0, err
    assert f"Ray: Ray cluster at {cluster.address}, 2 nodes, 2 CPUs; 2 workers of 1 CPU (1 " in err
    found = rows(out)
    assert [row["image"] for row in found] == seeds
    assert_matches_caption_many(found, reference, threads=1)


def test_a_killed_worker_is_replaced_and_every_image_written_once(tmp_path, many, tiny, cluster):
    out = tmp_path / "captions.jsonl"
    args = [many, "--out", out, "--model", tiny, "--batch-size", "4", "--address", cluster.address]
    run = BatchRun(args)
    try:
        wait_for(lambda: rows_so_far(out) >= 8, timeout=180, what="the first rows")
        workers = session_processes(cluster.process.pid, WORKER)
        assert len(set(workers.values())) == 2, workers  # one worker under each node's raylet
        killed = min(workers)
        os.kill(killed, signal.SIGKILL)
        at_kill = rows_so_far(out)
        status, err = run.finish()
    finally:
        run.close()
    assert status == 0, err
    assert at_kill < MANY, "the worker was not killed mid-run"
    assert killed not in session_processes(cluster.process.pid, WORKER)
    found = rows(out)
    counts = Counter(row["image"] for row in found)
    assert len(found) == MANY and set(counts.values()) == {1}
    assert_matches_caption_many(found, tiny, threads=1)


def test_over_ray_client_a_run_resumes_what_a_run_on_the_cluster_began(
    tmp_path, photos, tiny, cluster
):
    out = tmp_path / "captions.jsonl"
    seeds = [str(photos / name) for name in oi.seed_image_names()]
    status, err = run_batch(
        [*seeds[:3], "--out", out, "--model", tiny, "--address", cluster.address]
    )
    assert status == 0, err
    begun = out.read_bytes()

    args = [photos, "--out", out, "--model", tiny, "--address", cluster.client_address]
    status, err = run_batch(args)
    assert status == 0, err
    assert f"Ray: Ray cluster at {cluster.client_address}, 2 nodes, 2 CPUs; 2 workers" in err
    walked = sorted(str(path) for path in photos.rglob("*") if path.is_file())
    assert (
        f"Done: {len(walked)} images, {len(walked) - 3} captioned by this run (1 error), 3 " in err
    )
    assert out.read_bytes().startswith(begun)
    found = rows(out)
    assert [row["image"] for row in found] == seeds[:3] + [n for n in walked if n not in seeds[:3]]
    assert_matches_caption_many(found, tiny, threads=1)


def test_parquet_output_on_the_cluster(tmp_path, photos, tiny, cluster):
    import pyarrow.parquet as pq

    out = tmp_path / "captions.parquet"
    args = [photos, "--out", out, "--model", tiny, "--address", cluster.address]
    status, err = run_batch([*args, "--beam-size", "2"])
    assert status == 0, err
    assert not (tmp_path / "captions.parquet.journal.jsonl").exists()
    table = pq.read_table(out).to_pylist()
    assert [row["image"] for row in table] == sorted(
        str(path) for path in photos.rglob("*") if path.is_file()
    )
    broken = table[[row["image"] for row in table].index(str(photos / "broken.jpg"))]
    assert broken["captions"] is None and broken["error"].startswith(broken["image"] + ": ")
    found = [{"image": r["image"], "captions": r["captions"]} for r in table if r["captions"]]
    assert len(found) == len(table) - 1 and all(r["error"] is None for r in found[:0])
    assert_matches_caption_many(found, tiny, threads=1, beam_size=2)


def test_a_model_the_workers_cannot_load_is_one_error_line_not_a_hang(tmp_path, photos, cluster):
    model = write_tiny_bundle(tmp_path / "model")
    # More words than the softmax: found only when a worker builds the model.
    words = [*TINY_WORDS, *(f"w{i}" for i in range(10))]
    (model / "word_counts.txt").write_text("\n".join(f"{word} 1" for word in words))
    out = tmp_path / "captions.jsonl"
    status, err = run_batch(
        [photos, "--out", out, "--model", model, "--address", cluster.address], timeout=180
    )
    assert status == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: the Ray job failed: ModelError: ")
    assert last.endswith(
        f"{model / 'word_counts.txt'}: vocabulary has 19 words (with <UNK>) but the model's "
        "softmax has 9: this vocabulary does not belong to this model"
    )


def test_a_starved_job_is_reported_not_left_waiting(tmp_path, photos, tiny):
    """Another job holds the only CPU: no worker can start, and the run says so."""
    busy = LocalCluster(nodes=[1], hog=True)
    try:
        out = tmp_path / "captions.jsonl"
        args = [photos, "--out", out, "--model", tiny, "--address", busy.address]
        status, err = run_batch(args, timeout=150, RAY_DATA_EXECUTION_NO_PROGRESS_TIMEOUT_S="10")
    finally:
        busy.close()
    assert status == 1, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: nothing moved in 10 s: 1 worker of 1 CPU each asked of Ray")
    assert "0 of 1 CPUs free" in last
