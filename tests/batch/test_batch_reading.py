"""Reading images for the workers: local files, file:// and http:// URIs; failures per image."""

from __future__ import annotations

import numpy as np
import pytest

from fixtures.http_server import Server
from im2txt.batch import reading
from im2txt.batch.reading import read_images


@pytest.fixture
def server():
    server = Server()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def test_local_files_and_uris_are_read_and_failures_are_per_image(tmp_path, server):
    (tmp_path / "a.jpg").write_bytes(b"JPEG bytes")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "folder.jpg").mkdir()
    url = server.add("/b.png", b"PNG bytes")
    names = [
        str(tmp_path / "a.jpg"),
        (tmp_path / "a.jpg").as_uri(),  # file:///...: pyarrow's filesystems
        url,
        server.url("/gone.png"),
        str(tmp_path / "missing.jpg"),
        str(tmp_path / "empty.png"),
        str(tmp_path / "folder.jpg"),
        "nosuchscheme://x/y.jpg",
    ]
    batch = read_images({"image": np.array(names)})
    assert batch["image"] == names
    assert batch["data"][:3] == [b"JPEG bytes", b"JPEG bytes", b"PNG bytes"]
    assert batch["error"][:3] == ["", "", ""]
    errors = batch["error"][3:]
    assert errors[0] == f"{names[3]}: HTTP 404 Not Found"
    assert errors[1] == f"{names[4]}: file not found"
    assert errors[2] == f"{names[5]}: empty file (0 bytes)"
    assert errors[3] == f"{names[6]}: is a folder, not an image"
    assert errors[4].startswith(f"{names[7]}: cannot read (")
    assert all(data == b"" for data in batch["data"][3:])


def test_files_over_the_limit_are_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "MAX_FILE_BYTES", 10)
    (tmp_path / "big.jpg").write_bytes(b"x" * 11)
    (tmp_path / "fits.jpg").write_bytes(b"x" * 10)
    batch = read_images({"image": [str(tmp_path / "big.jpg"), str(tmp_path / "fits.jpg")]})
    assert batch["error"] == [f"{tmp_path / 'big.jpg'}: larger than 0 MB, not read", ""]
