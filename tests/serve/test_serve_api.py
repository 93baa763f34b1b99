"""`im2txt serve` as its clients meet it: a real uvicorn server on 127.0.0.1 (a random port), spoken
to over HTTP with the standard library, the shipped demo model behind it.

The oracle for every caption is Captioner.caption on the same photo in this process; IBM MAX's
response shapes are written out field by field (from MAX's api/predict.py and its README's
example), not read from our own code.
"""

from __future__ import annotations

import io
import json
import math
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import uvicorn
from PIL import Image, ImageOps

from fixtures.paths import REPO
from im2txt.captioner import load_captioner
from im2txt.queue_values import QueueSettings
from im2txt.serve.api import WORKER_HEADER, create_app
from im2txt.serve.service import CaptionService
from im2txt.serve.settings import ServeSettings
from im2txt.storage.locations import SHIPPED_DEMO

WAIT = 60
# A photo captioned in a batch with other clients' photos: the same words, probabilities this
# close (the bound tests/test_work_queue.py measures for photos batched across visitors).
SHARED_RELATIVE = 5e-5


@pytest.fixture(scope="module")
def demo():
    return load_captioner(SHIPPED_DEMO)


class Recording:
    """The demo captioner, recording the size of every batch the queue's lane runs, and able to
    hold the lane (gate) so that requests pile up behind it."""

    def __init__(self, captioner, hold: bool = False) -> None:
        self._captioner = captioner
        self.info = captioner.info
        self.batches: list[int] = []
        self.gate = threading.Event()
        self.entered = threading.Event()
        if not hold:
            self.gate.set()

    def warm_up(self) -> None:
        self._captioner.warm_up()

    def caption_each(self, images, **kwargs):
        self.batches.append(len(images))
        self.entered.set()
        assert self.gate.wait(WAIT)
        return self._captioner.caption_each(images, **kwargs)


class Server:
    """uvicorn serving create_app(service) on a socket bound to 127.0.0.1:0, in a thread."""

    def __init__(self, service: CaptionService, wait_ready: bool = True) -> None:
        self.service = service
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(create_app(service), log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, args=([self._socket],))
        self._thread.start()
        self.wait_for("/health", 200)
        if wait_ready:
            self.wait_for("/ready", 200)

    def wait_for(self, path: str, status: int) -> None:
        deadline = time.monotonic() + WAIT
        while self.get(path)[0] != status:
            assert time.monotonic() < deadline, f"{path} never answered {status}"
            time.sleep(0.05)

    def get(self, path: str, headers: dict | None = None):
        return self.request("GET", path, headers=headers)

    def post(self, path: str, files=(), fields=(), headers: dict | None = None):
        body, content_type = multipart(files, fields)
        return self.request("POST", path, body, {"Content-Type": content_type, **(headers or {})})

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        """(status, JSON body, headers); errors are answers too."""
        request = urllib.request.Request(self.url + path, body, headers or {}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=WAIT) as response:
                return response.status, json.loads(response.read()), response.headers
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read()), e.headers
        except urllib.error.URLError:  # not listening yet
            return 0, None, {}

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(WAIT)
        self._socket.close()


def multipart(files, fields=()) -> tuple[bytes, str]:
    """A multipart/form-data body: files as (field, filename, bytes, type), fields as (name,
    value), the way curl -F and MAX's web app send them."""
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, filename, data, kind in files:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                  f'filename="{filename}"\r\nContent-Type: {kind}\r\n\r\n'.encode())  # fmt: skip
        out.write(data + b"\r\n")
    for name, value in fields:
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                  f"{value}\r\n".encode())  # fmt: skip
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def photos(count: int) -> list[tuple[str, bytes]]:
    """`count` different JPEGs: the repository's sample photos, mirrored, turned and cropped."""
    originals = sorted((REPO / "sample_images").glob("*.jpg"))
    out = []
    for i in range(count):
        picture = Image.open(originals[i % len(originals)]).convert("RGB")
        variant = i // len(originals)
        if variant % 2:
            picture = ImageOps.mirror(picture)
        picture = picture.rotate(90 * (variant // 2), expand=True)
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=90)
        out.append((f"photo{i}.jpg", buffer.getvalue()))
    return out


@pytest.fixture
def temp_folder(tmp_path, monkeypatch):
    """Where Python's temporary files go while the server runs (uploads over 1 MB spill there)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def serve(demo, temp_folder):
    servers = []

    def start(captioner=None, queue=None, **settings) -> Server:
        service = CaptionService(
            ServeSettings(**settings),
            captioner=captioner or Recording(demo),
            queue_settings=queue or QueueSettings(memory_budget_mb=100_000),
        )
        servers.append(Server(service))
        return servers[-1]

    yield start
    for server in servers:
        server.close()
    assert list(temp_folder.iterdir()) == []  # nothing left behind


def close_to(a: float, b: float, relative: float) -> bool:
    return math.isclose(a, b, rel_tol=relative)


def test_predict_answers_in_max_shape_with_the_captions_of_caption(serve, demo):
    server = serve()
    name, data = photos(1)[0]
    status, body, _ = server.post("/model/predict", [("image", name, data, "image/jpeg")])
    assert status == 200
    # MAX: {"status": "ok", "predictions": [{"index": "0", "caption": ..., "probability": ...}]}
    assert list(body) == ["status", "predictions"] and body["status"] == "ok"
    expected = demo.caption(data)  # beam 3, length 20, no normalization: MAX's and the default
    assert len(body["predictions"]) == len(expected) == 3
    for i, (prediction, caption) in enumerate(zip(body["predictions"], expected, strict=True)):
        assert list(prediction) == ["index", "caption", "probability"]
        assert prediction["index"] == str(i)  # a string, as MAX sends it
        assert prediction["caption"] == " ".join(caption.words)
        assert isinstance(prediction["probability"], float)
        # exp of the log-probability with the end token's: run_inference.py's p=.
        assert close_to(prediction["probability"], math.exp(caption.log_probability), 2e-5)
        assert caption.end_probability is not None


def test_metadata_describes_the_model_loaded(serve, demo):
    server = serve()
    status, body, _ = server.get("/model/metadata")
    assert status == 200
    assert list(body) == ["id", "name", "description", "type", "source", "license"]
    assert all(isinstance(value, str) and value for value in body.values())
    assert body["name"] == demo.info.name and body["type"] == "Image-to-Text Translation"
    assert body["license"].startswith("MIT")


def test_an_installed_model_has_its_recorded_licence(tmp_path):
    from im2txt.serve.service import model_metadata

    folder = tmp_path / "coco"
    folder.mkdir()
    record = {"model": "coco-2m", "description": "d", "licence": "MIT", "source": "IBM"}
    (folder / "im2txt-source.json").write_text(json.dumps(record))

    class Info:
        kind, name, description, origin, source = "coco", "im2txt COCO", "", "ckpt", ""

    class Captioner:
        info = Info()

    Info.source = str(folder / "model.ckpt-2000000")  # a checkpoint prefix inside the folder
    found = model_metadata(Captioner())
    assert found["id"] == "im2txt-coco-2m" and found["license"] == "MIT"
    assert found["source"] == "IBM"
    (folder / "im2txt-source.json").unlink()
    assert model_metadata(Captioner())["license"].startswith("unknown")


def test_the_native_endpoint_takes_several_images_settings_and_bad_files(serve, demo):
    server = serve()
    (name, data), (other, more) = photos(2)
    status, body, _ = server.post(
        "/v1/captions",
        [("images", name, data, "image/jpeg"), ("images", "notes.txt", b"hello", "text/plain"),
         ("images", other, more, "image/jpeg")],
        [("beam_size", "2"), ("max_caption_length", "12")],
    )  # fmt: skip
    assert status == 200
    assert [r["image"] for r in body] == [name, "notes.txt", other]
    assert body[1] == {"image": "notes.txt", "error": "notes.txt: not an image "
                       "(unrecognised file format)"}  # fmt: skip
    for result, image in ((body[0], data), (body[2], more)):
        expected = demo.caption(image, decode=_decode(2, 12))
        assert [c["text"] for c in result["captions"]] == [c.text for c in expected]
        for got, caption in zip(result["captions"], expected, strict=True):
            assert got["words"] == list(caption.words)
            assert len(got["word_probabilities"]) == len(caption.words)
            for a, b in zip(got["word_probabilities"], caption.word_probabilities, strict=True):
                assert close_to(a, b, SHARED_RELATIVE)
            assert close_to(got["log_probability"], caption.log_probability, SHARED_RELATIVE)


def _decode(beam_size: int, length: int):
    from im2txt.config import DecodeConfig

    return DecodeConfig(beam_size=beam_size, max_caption_length=length)


def test_bad_requests_get_a_status_and_one_line(serve):
    server = serve(max_upload_mb=1)
    _, data = photos(1)[0]
    cases = [
        (server.post("/model/predict", [], [("other", "x")]),
         400, "the form field 'image' is missing"),
        (server.post("/model/predict", [], [("image", "not a file")]),
         400, "the form field 'image' must be a file (multipart/form-data)"),
        (server.post("/model/predict", [("image", "cat.jpg", b"\xff\xd8 cut", "image/jpeg")]),
         400, "cat.jpg: "),
        (server.post("/model/predict", [("image", "big.jpg", b"\0" * (2 << 20), "image/jpeg")]),
         413, "the request is larger than this server's limit of 1 MB"),
        (server.post("/v1/captions", [("images", "a.jpg", data, "image/jpeg")],
                     [("beam_size", "0")]),
         400, "beam_size must be at least 1, got 0"),
        (server.post("/v1/captions", [("images", "a.jpg", data, "image/jpeg")],
                     [("length_normalization_factor", "much")]),
         400, "length_normalization_factor: "),
    ]  # fmt: skip
    for (status, body, _), want_status, line in cases:
        assert status == want_status, body
        assert list(body) == ["message"] and body["message"].startswith(line), body
        assert "\n" not in body["message"]
    # MAX's web app checks the service is up with a GET: any answer, in the same shape.
    status, body, _ = server.get("/model/predict")
    assert status == 405 and list(body) == ["message"]


def test_a_body_without_a_length_is_cut_at_the_limit(serve):
    server = serve(max_upload_mb=1)
    body, content_type = multipart([("image", "big.jpg", b"\0" * (3 << 20), "image/jpeg")])
    request = urllib.request.Request(
        server.url + "/model/predict",
        iter([body[i : i + 65536] for i in range(0, len(body), 65536)]),
        {"Content-Type": content_type, "Transfer-Encoding": "chunked"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=WAIT)
    assert answer.value.code == 413


def test_28_clients_at_once_each_get_their_own_captions_batched_together(serve, demo):
    """IBM's web app sends one POST per bundled image, 28 at once, when it starts."""
    recording = Recording(demo)
    server = serve(captioner=recording)
    sent = photos(28)
    with ThreadPoolExecutor(28) as pool:
        answers = list(pool.map(
            lambda photo: server.post("/model/predict", [("image", *photo, "image/jpeg")]), sent
        ))  # fmt: skip
    assert [status for status, _, _ in answers] == [200] * 28
    for (_, data), (_, body, _) in zip(sent, answers, strict=True):
        expected = demo.caption(data)
        assert [p["caption"] for p in body["predictions"]] == [c.text for c in expected]
        for prediction, caption in zip(body["predictions"], expected, strict=True):
            assert close_to(prediction["probability"], caption.probability, SHARED_RELATIVE)
    # Captioned together: far fewer lane batches than requests.
    assert sum(recording.batches) == 28 and max(recording.batches) > 1, recording.batches


def test_a_full_queue_answers_503_with_retry_after(serve, demo):
    held = Recording(demo, hold=True)
    server = serve(captioner=held, queue=QueueSettings(memory_budget_mb=100_000, queue_length=1))
    sent = photos(3)
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(server.post, "/model/predict", [("image", *sent[0], "image/jpeg")])
        assert held.entered.wait(WAIT)  # the lane holds the first
        second = pool.submit(server.post, "/model/predict", [("image", *sent[1], "image/jpeg")])
        deadline = time.monotonic() + WAIT
        while server.service._queue.waiting < 1:  # the second waits: the queue is full
            assert time.monotonic() < deadline
            time.sleep(0.01)
        status, body, headers = server.post("/model/predict", [("image", *sent[2], "image/jpeg")])
        assert status == 503
        assert body == {"message": "The server is busy: 1 request(s) are waiting ahead of "
                        "yours. Try again in a minute."}  # fmt: skip
        assert int(headers["Retry-After"]) >= 1
        held.gate.set()
        assert first.result(WAIT)[0] == 200 and second.result(WAIT)[0] == 200


def test_the_token_is_needed_when_set(serve):
    server = serve(token="s3cret")
    name, data = photos(1)[0]
    files = [("image", name, data, "image/jpeg")]
    assert server.post("/model/predict", files)[0] == 401
    status, body, headers = server.post(
        "/model/predict", files, headers={"Authorization": "Bearer nope"}
    )
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer" and list(body) == ["message"]
    assert server.get("/model/metadata")[0] == 401
    assert (
        server.post("/model/predict", files, headers={"Authorization": "Bearer s3cret"})[0] == 200
    )
    assert server.get("/health")[0] == 200 and server.get("/ready")[0] == 200


def test_ready_only_once_the_model_is_warm(demo, temp_folder):
    class SlowStart(Recording):
        def warm_up(self) -> None:
            assert self.gate.wait(WAIT)
            super().warm_up()

    slow = SlowStart(demo, hold=True)
    server = Server(CaptionService(ServeSettings(), captioner=slow), wait_ready=False)
    try:
        status, body, headers = server.get("/ready")  # /health answered: the process is up
        assert status == 503 and headers["Retry-After"]
        assert body == {"message": "the model is loading"}
        slow.gate.set()
        server.wait_for("/ready", 200)
    finally:
        slow.gate.set()
        server.close()


def test_docs_and_the_spec_are_served(serve):
    server = serve()
    with urllib.request.urlopen(server.url + "/", timeout=WAIT) as response:
        assert b"swagger" in response.read().lower()
    status, spec, _ = server.get("/openapi.json")
    assert status == 200
    assert {"/model/predict", "/model/metadata", "/v1/captions", "/health", "/ready"} <= set(
        spec["paths"]
    )


def test_cors_is_off_unless_configured(serve):
    closed, opened = serve(), serve(cors_origins=("https://example.org",))
    preflight = {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}
    for server, allowed in ((closed, None), (opened, "https://example.org")):
        request = urllib.request.Request(server.url + "/model/predict", headers=preflight,
                                         method="OPTIONS")  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=WAIT) as response:
                headers = response.headers
        except urllib.error.HTTPError as e:
            headers = e.headers
        assert headers.get("Access-Control-Allow-Origin") == allowed


def test_every_answer_names_its_worker(serve):
    server = serve()
    _, _, headers = server.get("/health")
    host, _, pid = headers[WORKER_HEADER].rpartition(":")
    assert host == socket.gethostname() and int(pid) > 0


def test_a_large_upload_spills_to_a_temporary_file_that_is_removed(serve, demo, temp_folder):
    """Starlette keeps an upload over 1 MB in a temporary file (rolled over in the fixture's
    temporary folder); the serve fixture checks the folder is empty at the end."""
    import numpy as np

    noise = np.random.default_rng(0).integers(0, 256, (900, 1200, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "PNG")
    data = buffer.getvalue()
    assert len(data) > 2 << 20
    server = serve()
    seen = []
    original = tempfile.SpooledTemporaryFile.rollover

    def rollover(self):
        original(self)
        seen.append(self.name)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile.SpooledTemporaryFile, "rollover", rollover)
        status, body, _ = server.post("/model/predict", [("image", "noise.png", data, "image/png")])
    assert status == 200
    assert [p["caption"] for p in body["predictions"]] == [c.text for c in demo.caption(data)]
    assert seen  # it did go to a file


def test_without_the_serve_extra_the_command_says_how_to_install_it(monkeypatch, capsys):
    import importlib.util

    from im2txt.cli import main

    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "fastapi" else found(name, *a)
    )
    assert main(["serve", "--port", "5999"]) == 1
    assert capsys.readouterr().err == (
        "error: serve needs packages that are not installed (fastapi): pip install -r "
        "requirements-serve.txt (or: pip install '.[serve]')\n"
    )
