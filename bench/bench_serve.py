"""`im2txt serve` under concurrent clients, beside caption() one image at a time, in one run.

    python bench/bench_serve.py                        # 1, 4, 16 and 28 clients
    python bench/bench_serve.py --clients 16 --rounds 5

One `python -m im2txt serve` process (uvicorn, one worker) with a COCO-size checkpoint (random
but lively weights in the original TF1 format, the real vocabulary: bench_engine.make_checkpoint).
Each client is a thread of this process that sends `--rounds` requests one after the other, each
`POST /model/predict` with one JPEG (the seed photos of the original demo, then synthetic ones),
all clients starting together. The baseline is Captioner.caption() on the same JPEGs one at a
time, in this process, timed while the server is idle; it alternates with the client runs so that
the machine's noise hits both alike. Throughput is requests (images) per second over the whole
run; latency is per request, from sending to the full answer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_engine import bench_images, make_checkpoint  # noqa: E402
from bench.servers import free_port, wait_until_answers  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16, 28])
    parser.add_argument("--rounds", type=int, default=3, help="requests per client")
    args = parser.parse_args()
    import im2txt

    with tempfile.TemporaryDirectory() as tmp:
        prefix = make_checkpoint(Path(tmp) / "coco")
        photos = bench_images(max(args.clients))
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "im2txt", "serve", "--model", str(prefix), "--port", str(port)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            captioner = im2txt.load_captioner(prefix)
            captioner.warm_up()
            wait_until_answers(f"{url}/ready", timeout=300)
            post(url, photos[0])  # the server's first request traces nothing: warm_up did
            rows = []
            for clients in args.clients:
                alone = one_at_a_time(captioner, photos, clients * args.rounds)
                times, wall = together(url, photos, clients, args.rounds)
                rows.append((clients, alone, times, wall))
        finally:
            server.terminate()
            server.wait(timeout=60)
    print(f"\n`im2txt serve` on this machine ({os.cpu_count()} cores), COCO-size model, "
          "one JPEG per request")  # fmt: skip
    print(f"{'clients':>8s} {'requests':>9s} {'req/s':>7s} {'caption() img/s':>16s} "
          f"{'ratio':>6s} {'p50 s':>6s} {'p95 s':>6s} {'max s':>6s}")  # fmt: skip
    for clients, alone, times, wall in rows:
        rate = len(times) / wall
        ordered = sorted(times)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        print(f"{clients:8d} {len(times):9d} {rate:7.2f} {alone:16.2f} {rate / alone:5.2f}x "
              f"{statistics.median(ordered):6.2f} {p95:6.2f} {ordered[-1]:6.2f}")  # fmt: skip


def one_at_a_time(captioner, photos: list[bytes], count: int) -> float:
    """caption() per second, one image after the other."""
    started = time.perf_counter()
    for i in range(count):
        captioner.caption(photos[i % len(photos)])
    return count / (time.perf_counter() - started)


def together(url: str, photos: list[bytes], clients: int, rounds: int):
    """Every request's seconds, and the whole run's, with `clients` threads at once."""
    times: list[float] = []
    go = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        go.wait()
        for _ in range(rounds):
            began = time.perf_counter()
            post(url, photos[i % len(photos)])
            times.append(time.perf_counter() - began)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    go.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return times, time.perf_counter() - started


def post(url: str, jpeg: bytes) -> None:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="p.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + jpeg
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{url}/model/predict", body,
        {"Content-Type": f"multipart/form-data; boundary={boundary}"}, method="POST",
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=300) as response:
        assert response.status == 200
        response.read()


if __name__ == "__main__":
    main()
