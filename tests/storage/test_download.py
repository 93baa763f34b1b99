"""Downloading a model: a real HTTP server on 127.0.0.1, archives built from real models.

Every failure must leave the model folder exactly as it was: no staging folder, no partial model.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import stat
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from fixtures.http_server import Server, tar_gz
from fixtures.paths import COCO_VOCAB
from fixtures.tiny_model import TINY_CONFIG, write_tiny_bundle
from im2txt import cli, load_captioner
from im2txt.config import DecodeConfig, ModelConfig
from im2txt.errors import DownloadError, ModelError
from im2txt.storage import discovery
from im2txt.storage.fetch import public_url
from im2txt.storage.install import check_model, download_model
from im2txt.storage.locations import coco_destination as default_destination
from im2txt.weights import weight_shapes
from tests.reference import original_im2txt as oi


@pytest.fixture(scope="module")
def server():
    server = Server()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """The test server is local: never route it through a proxy set in the environment."""
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


# --- archives ------------------------------------------------------------------------------------


def zip_top_level(folder: Path) -> bytes:
    """A .zip of the files of `folder`, at the top level of the archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return buffer.getvalue()


def tar_members(folder: Path, extra: tarfile.TarInfo, data: bytes = b"") -> bytes:
    """A .tar.gz of `folder`'s files at the top, then one crafted member."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, path.name)
        tar.addfile(extra, io.BytesIO(data) if extra.isfile() else None)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- models --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A small model in the project's format (config.json, weights.npz, word_counts.txt)."""
    return write_tiny_bundle(tmp_path_factory.mktemp("source") / "tiny")


@pytest.fixture(scope="module")
def tiny_tgz(tiny) -> bytes:
    return tar_gz(tiny, "im2txt-tiny")


@pytest.fixture
def root(tmp_path) -> Path:
    """A model/ folder with the demo model in it, as in a clone."""
    root = tmp_path / "model"
    write_tiny_bundle(root / "demo", kind="demo")
    (root / "demo-words.txt").unlink()  # write_tiny_bundle's source vocabulary
    return root


def contents(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def fails(root: Path, message: str, url: str, **kwargs) -> str:
    """download_model raises one line matching `message` and leaves `root` as it was."""
    before = contents(root)
    with pytest.raises(DownloadError, match=message) as error:
        download_model(url, root / "coco", **kwargs)
    assert "\n" not in str(error.value)
    assert contents(root) == before
    return str(error.value)


# --- good archives -------------------------------------------------------------------------------


def test_tar_gz_with_a_folder_inside(server, root, tiny_tgz):
    url = server.add("/tiny.tar.gz", tiny_tgz)
    calls = []
    dest = download_model(
        url,
        root / "coco",
        sha256=sha256(tiny_tgz).upper(),
        progress=lambda done, total: calls.append((done, total)),
    )
    assert dest == root / "coco"
    assert sorted(os.listdir(root)) == ["coco", "demo"]  # nothing else left
    assert sorted(os.listdir(dest)) == ["config.json", "weights.npz", "word_counts.txt"]
    size = len(tiny_tgz)
    assert calls[0] == (0, size) and calls[-1] == (size, size)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert discovery.default_model(root).path == dest  # what the app will load now
    captions = load_captioner(dest).caption(np.zeros((40, 40, 3), np.uint8))
    assert captions


def test_zip_with_files_at_the_top_goes_to_the_default_destination(server, root, tiny, monkeypatch):
    monkeypatch.setenv("IM2TXT_MODEL_DIR", str(root))
    assert default_destination() == root / discovery.COCO_FOLDER
    url = server.add("/tiny.zip", zip_top_level(tiny))
    assert download_model(url) == root / "coco"
    assert sorted(os.listdir(root / "coco")) == ["config.json", "weights.npz", "word_counts.txt"]
    assert sorted(os.listdir(root)) == ["coco", "demo"]
    check_model(root / "coco")


def test_macos_metadata_is_not_taken_for_a_second_model(server, root, tiny):
    buffer = io.BytesIO(zip_top_level(tiny))
    with zipfile.ZipFile(buffer, "a") as archive:  # what Finder's "Compress" adds
        for name in ("model.ckpt-1.index", "model.ckpt-1.data-00000-of-00001", "config.json"):
            archive.writestr(f"__MACOSX/._{name}", b"\x00\x05\x16\x07")
            archive.writestr(f"__MACOSX/{name}", b"\x00\x05\x16\x07")
    download_model(server.add("/finder.zip", buffer.getvalue()), root / "coco")
    assert "__MACOSX" not in os.listdir(root / "coco")


def test_vocabulary_one_folder_up_is_taken_along(server, root, tiny, tmp_path):
    layout = tmp_path / "layout"
    shutil.copytree(tiny, layout / "weights")
    (layout / "weights" / "word_counts.txt").rename(layout / "word_counts.txt")
    url = server.add("/vocab-above.tgz", tar_gz(layout, "release"))
    dest = download_model(url, root / "coco")
    assert (dest / "word_counts.txt").is_file()


# --- failures ------------------------------------------------------------------------------------


def test_wrong_checksum(server, root, tiny_tgz):
    url = server.add("/checksum.tgz", tiny_tgz)
    message = fails(
        root, r"SHA-256 mismatch: expected 0{64}, got [0-9a-f]{64}", url, sha256="0" * 64
    )
    assert message.startswith(url)


def test_http_404(server, root):
    fails(root, r"/missing\.tgz: HTTP 404 Not Found", server.url("/missing.tgz"))


def test_transfer_cut_short(server, root, tiny_tgz):
    url = server.add("/cut.tgz", tiny_tgz, mode="cut")
    total = len(tiny_tgz)
    fails(root, rf"transfer cut short: received {total // 2:,} of {total:,} bytes", url)


def test_truncated_archive_without_a_length(server, root, tiny_tgz):
    # No Content-Length: only the archive itself can tell that it ends too early.
    url = server.add("/no-length.tgz", tiny_tgz, mode="no-length")
    fails(root, r"damaged or truncated archive", url)


def test_truncated_zip(server, root, tiny):
    url = server.add("/no-length.zip", zip_top_level(tiny), mode="no-length")
    fails(root, r"damaged or truncated archive", url)


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type = kind
    member.linkname = link
    member.size = 5 if kind == tarfile.REGTYPE else 0
    return member


@pytest.mark.parametrize(
    ("member", "problem"),
    [
        (_member("../../../../evil.txt"), "points outside the archive"),
        (_member("model/../../evil.txt"), "points outside the archive"),
        (_member("/tmp/im2txt-evil.txt"), "is an absolute path"),
        (_member("evil-link", tarfile.SYMTYPE, "/etc/passwd"), "is a link"),
        (_member("evil-hardlink", tarfile.LNKTYPE, "/etc/passwd"), "is a link"),
        (_member("evil-device", tarfile.CHRTYPE), "is a special file"),
        (_member("evil-fifo", tarfile.FIFOTYPE), "is a special file"),
    ],
    ids=["dotdot", "inner-dotdot", "absolute", "symlink", "hardlink", "device", "fifo"],
)
def test_unsafe_tar_members(server, root, tiny, tmp_path, member, problem):
    # The unsafe member comes after a complete model: what was unpacked before it is removed too.
    url = server.add(
        f"/unsafe-{member.name.replace('/', '_')}.tgz", tar_members(tiny, member, b"evil!")
    )
    fails(root, rf"unsafe archive: '{member.name}' {problem}", url)
    assert not list(tmp_path.rglob("*evil*"))
    assert not Path("/tmp/im2txt-evil.txt").exists()


@pytest.mark.parametrize(
    ("name", "mode", "problem"),
    [
        ("../../evil.txt", stat.S_IFREG | 0o644, "points outside the archive"),
        ("/evil.txt", stat.S_IFREG | 0o644, "is an absolute path"),
        ("evil-link", stat.S_IFLNK | 0o777, "is a link"),
    ],
    ids=["dotdot", "absolute", "symlink"],
)
def test_unsafe_zip_members(server, root, tiny, tmp_path, name, mode, problem):
    buffer = io.BytesIO(zip_top_level(tiny))
    with zipfile.ZipFile(buffer, "a") as archive:
        member = zipfile.ZipInfo(name)
        member.external_attr = mode << 16
        archive.writestr(member, "/etc/passwd")
    url = server.add(f"/unsafe-{name.replace('/', '_')}.zip", buffer.getvalue())
    fails(root, rf"unsafe archive: '{name}' {problem}", url)
    assert not list(tmp_path.rglob("*evil*"))


def test_archive_without_a_model(server, root, tmp_path):
    folder = tmp_path / "no-model"
    folder.mkdir()
    (folder / "README.txt").write_text("the weights are on another page")
    shutil.copy(COCO_VOCAB, folder / "word_counts.txt")
    url = server.add("/no-model.tgz", tar_gz(folder, "release"))
    fails(
        root,
        r"no im2txt checkpoint \(\.index with its \.data\) or converted model in the archive "
        r"\(found release/README\.txt, release/word_counts\.txt\)",
        url,
    )


def test_model_without_its_vocabulary(server, root, tiny, tmp_path):
    folder = tmp_path / "no-vocab"
    shutil.copytree(tiny, folder)
    (folder / "word_counts.txt").unlink()
    fails(
        root,
        r"model has no word_counts\.txt beside it",
        server.add("/nv.zip", zip_top_level(folder)),
    )


def test_damaged_weights_fail_the_load_check(server, root, tiny, tmp_path):
    folder = tmp_path / "damaged"
    shutil.copytree(tiny, folder)
    weights = folder / "weights.npz"
    data = bytearray(weights.read_bytes())
    data[len(data) // 3] ^= 0xFF  # inside an array's data, past its .npy header
    weights.write_bytes(bytes(data))
    url = server.add("/damaged.tgz", tar_gz(folder, "release"))
    message = fails(root, r"does not load: release/weights\.npz: cannot read .*CRC", url)
    assert str(tmp_path) not in message  # names the file inside the archive, not the staging path


def test_not_an_archive(server, root):
    page = (
        b"<!DOCTYPE html><html><body>Google Drive can't scan this file for viruses.</body></html>"
    )
    url = server.add("/page", page, mode="html")
    fails(root, r"not a \.tar\.gz, \.tgz or \.zip archive \(the server sent a web page", url)
    fails(root, r"not a \.tar\.gz, \.tgz or \.zip archive$", server.add("/bin", b"\x00" * 600))


def test_several_models_in_one_archive(server, root, tiny, tmp_path):
    folder = tmp_path / "two"
    shutil.copytree(tiny, folder / "a")
    shutil.copytree(tiny, folder / "b")
    fails(
        root,
        r"several models in the archive \(a/, b/\)",
        server.add("/two.tgz", tar_gz(folder, ".")),
    )


def test_an_existing_model_is_kept_without_force_and_replaced_with_it(server, root, tmp_path):
    first = write_tiny_bundle(tmp_path / "first", seed=0)
    second = write_tiny_bundle(tmp_path / "second", seed=1)
    download_model(server.add("/first.tgz", tar_gz(first, "m")), root / "coco")
    url = server.add("/second.tgz", tar_gz(second, "m"))
    seen = len(server.requests)
    fails(root, r"coco: already has a model \(tiny test model\); not replaced \(use --force", url)
    assert len(server.requests) == seen  # refused before fetching anything

    download_model(url, root / "coco", force=True)
    assert sorted(os.listdir(root)) == ["coco", "demo"]  # the old model is gone, not set aside
    assert (root / "coco" / "weights.npz").read_bytes() == (second / "weights.npz").read_bytes()


def test_a_failed_forced_download_keeps_the_old_model(server, root, tiny_tgz, tiny):
    download_model(server.add("/keep.tgz", tiny_tgz), root / "coco")
    fails(root, r"HTTP 404", server.url("/gone.tgz"), force=True)
    assert (root / "coco" / "weights.npz").read_bytes() == (tiny / "weights.npz").read_bytes()


def test_an_empty_destination_folder_is_filled(server, root, tiny_tgz):
    (root / "coco").mkdir()
    download_model(server.add("/empty-dest.tgz", tiny_tgz), root / "coco")
    check_model(root / "coco")


def test_missing_parent_folders_are_created_and_removed_again_on_failure(server, tmp_path):
    dest = tmp_path / "new" / "models" / "coco"
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_model(server.url("/nothing.tgz"), dest)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://127.0.0.1/model.tgz", "data:,hello", "/etc/passwd", "http://"],
)
def test_only_http_and_https_urls(root, url):
    fails(root, r"only http:// and https:// URLs|has no host", url)


def test_redirects_to_other_schemes_are_refused(server, root, tiny_tgz):
    target = server.add("/redirected.tgz", tiny_tgz)
    download_model(server.add("/moved", target.encode(), mode="redirect"), root / "coco")
    assert (root / "coco" / "config.json").is_file()
    for scheme_url in ("file:///etc/passwd", "ftp://127.0.0.1/x.tgz"):
        url = server.add(f"/to-{scheme_url[:3]}", scheme_url.encode(), mode="redirect")
        fails(root, r"redirected to a (file|ftp): URL, refused$", url, force=True)
    assert (root / "coco" / "config.json").is_file()


def test_bad_sha256_argument_is_refused_before_fetching(server, root, tiny_tgz):
    url = server.add("/early.tgz", tiny_tgz)
    seen = len(server.requests)
    fails(root, r"SHA-256 must be 64 hexadecimal digits, got 'abc'", url, sha256="abc")
    assert len(server.requests) == seen


def test_nothing_listening(root):
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fails(root, r"cannot connect \(.*refused", f"http://127.0.0.1:{port}/model.tgz")


def test_silent_server_times_out(server, root, tiny_tgz):
    url = server.add("/slow.tgz", tiny_tgz, mode="stall")
    fails(root, r"/slow\.tgz: no answer within 0\.5 s$", url, timeout=0.5)


def test_public_url_hides_credentials_and_tokens():
    url = "https://user:secret@example.org:8443/files/model.tgz?X-Amz-Signature=abc#part"
    assert public_url(url) == "https://example.org:8443/files/model.tgz?..."
    assert public_url("https://example.org/model.tgz") == "https://example.org/model.tgz"


def test_error_messages_do_not_leak_the_query(server, root):
    url = server.url("/signed.tgz")
    message = fails(root, r"HTTP 404", f"{url}?token=s3cr3t")
    assert "s3cr3t" not in message and message.startswith(f"{url}?...")


# --- an original COCO-size checkpoint, end to end ------------------------------------------------


@pytest.fixture(scope="module")
def coco_archives(tmp_path_factory) -> tuple[bytes, bytes]:
    """(good, damaged) .tar.gz of a COCO-size checkpoint in the original format (TF 1.0 names,
    zero weights: 149 MB that compress to well under 1 MB) with the real COCO vocabulary."""
    folder = tmp_path_factory.mktemp("coco") / "im2txt-coco"
    weights = {n: np.zeros(s, np.float32) for n, s in weight_shapes(ModelConfig()).items()}
    oi.save_original_checkpoint(weights, folder, naming="tf1.0")
    shutil.copy(COCO_VOCAB, folder / "word_counts.txt")
    good = tar_gz(folder, "im2txt-coco")
    data = folder / "model.ckpt-2000000.data-00000-of-00001"
    with open(data, "r+b") as file:  # one flipped byte in the middle of the weights
        file.seek(data.stat().st_size // 2)
        byte = file.read(1)
        file.seek(-1, os.SEEK_CUR)
        file.write(bytes([byte[0] ^ 0xFF]))
    return good, tar_gz(folder, "im2txt-coco")


def test_original_coco_checkpoint_end_to_end(server, root, coco_archives):
    good, _ = coco_archives
    url = server.add("/im2txt-coco.tar.gz", good)
    dest = download_model(url, root / "coco", sha256=sha256(good))
    assert sorted(os.listdir(dest)) == [
        "checkpoint",
        "model.ckpt-2000000.data-00000-of-00001",
        "model.ckpt-2000000.index",
        "word_counts.txt",
    ]
    found = discovery.default_model(root)
    assert (found.format, found.label) == ("checkpoint", "COCO checkpoint model.ckpt-2000000")
    captioner = load_captioner(found.path)
    assert captioner.info.vocab_size == 11520
    assert captioner.caption(oi.seed_photo("cat.jpg"), decode=DecodeConfig(1, 3))


def test_damaged_original_checkpoint_fails_its_checksum(server, root, coco_archives):
    _, damaged = coco_archives
    url = server.add("/damaged-coco.tar.gz", damaged)
    fails(
        root,
        r"does not load: im2txt-coco/model\.ckpt-2000000: cannot read \S+ "
        r".*Checksum does not match",
        url,
    )


def test_check_model_reports_a_vocabulary_that_does_not_fit(tiny, tmp_path):
    folder = tmp_path / "big-vocab"
    shutil.copytree(tiny, folder)
    shutil.copy(COCO_VOCAB, folder / "word_counts.txt")
    with pytest.raises(
        ModelError, match=rf"vocabulary has 11520 words .* softmax has {TINY_CONFIG.vocab_size}:"
    ):
        check_model(folder)


# --- the command line ------------------------------------------------------------------------


def run(capsys, *argv) -> tuple[int, str, str]:
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_download(capsys, server, root, tiny_tgz):
    url = server.add("/cli.tgz", tiny_tgz)
    status, out, err = run(
        capsys, "download", url, "--dest", root / "coco", "--sha256", sha256(tiny_tgz)
    )
    assert status == 0
    assert out.strip() == f"Installed tiny test model in {root / 'coco'}"
    assert "Downloading" in err and "[" + "#" * 30 + "]" in err
    assert sorted(os.listdir(root)) == ["coco", "demo"]


def test_cli_download_errors_are_one_line(capsys, server, root, tiny_tgz):
    before = contents(root)
    status, out, err = run(capsys, "download", server.url("/nope.tgz"), "--dest", root / "coco")
    assert status == 1 and out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: http://127.0.0.1:") and last.endswith(
        "/nope.tgz: HTTP 404 Not Found"
    )
    assert contents(root) == before

    url = server.add("/cli-twice.tgz", tiny_tgz)
    assert run(capsys, "download", url, "--dest", root / "coco")[0] == 0
    status, _, err = run(capsys, "download", url, "--dest", root / "coco")
    assert status == 1 and "already has a model" in err and "--force" in err
    status, _, _ = run(capsys, "download", url, "--dest", root / "coco", "--force")
    assert status == 0
