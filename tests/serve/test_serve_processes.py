"""`python -m im2txt serve` as a real process: on uvicorn, with worker processes, and on Ray Serve
with two replicas on an embedded Ray. Each runs in a session of its own, killed at the end with
everything it started (Ray's processes included)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fixtures.paths import REPO
from fixtures.ray_processes import environment, free_port, kill_session, ray_temp_dir, wait_for
from im2txt.captioner import load_captioner
from im2txt.serve.api import WORKER_HEADER
from im2txt.storage.locations import SHIPPED_DEMO
from serve.test_serve_api import SHARED_RELATIVE, close_to, multipart, photos

pytestmark = pytest.mark.slow


class ServeRun:
    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.temp = ray_temp_dir()
        self.log = Path(self.temp) / "log.txt"
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "im2txt", "serve", "--port", str(self.port), *args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=REPO,
                env=environment(RAY_TMPDIR=self.temp), start_new_session=True,
            )  # fmt: skip

    def status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as e:
            return e.code
        except (urllib.error.URLError, ConnectionError):
            assert self.process.poll() is None, self.log.read_text()
            return 0

    def wait_ready(self, timeout: float = 240) -> None:
        wait_for(lambda: self.status("/ready") == 200, timeout, "/ready", step=0.5)

    def predict(self, name: str, data: bytes) -> tuple[dict, str]:
        body, kind = multipart([("image", name, data, "image/jpeg")])
        request = urllib.request.Request(
            self.url + "/model/predict", body, {"Content-Type": kind}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read()), response.headers[WORKER_HEADER]

    def close(self) -> None:
        kill_session(self.process)
        shutil.rmtree(self.temp, ignore_errors=True)


@pytest.fixture
def run():
    runs = []

    def start(*args: str) -> ServeRun:
        runs.append(ServeRun(*args))
        return runs[-1]

    yield start
    for started in runs:
        started.close()


@pytest.fixture(scope="module")
def demo():
    return load_captioner(SHIPPED_DEMO)


def check(answer: dict, data: bytes, demo) -> None:
    expected = demo.caption(data)
    assert [p["caption"] for p in answer["predictions"]] == [c.text for c in expected]
    for prediction, caption in zip(answer["predictions"], expected, strict=True):
        assert close_to(prediction["probability"], caption.probability, SHARED_RELATIVE)


def test_the_command_serves_until_interrupted(run, demo):
    served = run()
    served.wait_ready()
    name, data = photos(1)[0]
    check(served.predict(name, data)[0], data, demo)
    served.process.send_signal(signal.SIGINT)
    assert served.process.wait(timeout=60) == 0
    assert "Uvicorn running on http://127.0.0.1:" in served.log.read_text()


def test_worker_processes_each_load_the_model_before_taking_requests(run, demo):
    served = run("--workers", "2")
    served.wait_ready()
    sent = photos(8)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda photo: served.predict(*photo), sent))
    for (_, data), (answer, _) in zip(sent, answers, strict=True):
        check(answer, data, demo)


def test_ray_serve_replicas_share_the_requests(run, demo):
    served = run("--replicas", "2")
    served.wait_ready(timeout=300)
    sent = photos(16)
    workers = set()
    with ThreadPoolExecutor(16) as pool:
        for _ in range(4):  # Ray Serve picks a replica per request: both, within a few rounds
            answers = list(pool.map(lambda photo: served.predict(*photo), sent))
            for (_, data), (answer, worker) in zip(sent, answers, strict=True):
                check(answer, data, demo)
                workers.add(worker)
            if len(workers) == 2:
                break
    assert len(workers) == 2, workers
