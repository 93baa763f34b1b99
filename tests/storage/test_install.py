"""Installing a named model from look-alikes of the hosts that publish it, on 127.0.0.1: IBM's
tarball, GitHub's raw files, Google Drive's confirmation flow, and a mirror folder.

The look-alike catalogue is the real one with only URLs, sizes and digests swapped (see
fixtures.model_hosts). Every failure must leave the models folder exactly as it was.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from pathlib import Path

import pytest

from fixtures.http_server import Server
from fixtures.model_hosts import DRIVE_QUOTA_PAGE, Hosts, make_lookalike
from fixtures.tiny_model import write_tiny_bundle
from im2txt import cli, load_captioner
from im2txt.errors import DownloadError
from im2txt.storage import catalogue, discovery
from im2txt.storage.install import (
    PROVENANCE_FILE,
    NoSourceWorked,
    install_model,
    installed_model_name,
)

IBM = "IBM Model Asset Exchange"
KRANTHIGV = "KranthiGV (Google Drive + GitHub)"
# The labels as regular expressions ("(", "+" in them).
IBM_RE, KRANTHIGV_RE = re.escape(IBM), re.escape(KRANTHIGV)
DATA_2M = "model.ckpt-2000000.data-00000-of-00001"
INDEX_2M = "model.ckpt-2000000.index"


@pytest.fixture(scope="module")
def lookalike(tmp_path_factory):
    return make_lookalike(tmp_path_factory.mktemp("lookalike") / "checkpoint")


@pytest.fixture
def hosts(lookalike, monkeypatch):
    """The three hosts, serving the look-alike; the catalogue points at them."""
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
    hosts = Hosts(lookalike)
    monkeypatch.setattr(catalogue, "CATALOGUE", hosts.catalogue())
    yield hosts
    hosts.close()


@pytest.fixture
def root(tmp_path) -> Path:
    """A model/ folder with the demo model in it, as in a clone."""
    root = tmp_path / "model"
    write_tiny_bundle(root / "demo", kind="demo")
    (root / "demo-words.txt").unlink()
    return root


def contents(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def fails(root: Path, message: str, name: str = "coco-2m", **kwargs) -> str:
    """install_model raises one line matching `message`, leaving `root` exactly as it was."""
    before = contents(root)
    with pytest.raises(DownloadError, match=message) as error:
        install_model(name, root / "coco", **kwargs)
    assert "\n" not in str(error.value)
    assert contents(root) == before
    return str(error.value)


def remote(model: str, source: str, name: str):
    (found,) = [s for s in catalogue.find_model(model).sources if s.label == source]
    return {f.name: f for f in found.files}[name]


def flipped(data: bytes) -> bytes:
    """The same length, one byte changed halfway."""
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


# --- success -------------------------------------------------------------------------------------


def test_ibm_tarball_first(hosts, root):
    seen = []
    installed = install_model("coco-2m", root / "coco", progress=lambda *a: seen.append(a))
    assert (installed.source.label, installed.failures) == (IBM, ())
    assert sorted(os.listdir(root)) == ["coco", "demo"]  # no staging folder left
    assert sorted(os.listdir(root / "coco")) == [
        "checkpoint",
        PROVENANCE_FILE,
        "model2.ckpt-2000000.data-00000-of-00001",
        "model2.ckpt-2000000.index",
        "model2.ckpt-2000000.meta",
        "word_counts.txt",
    ]
    members = hosts.lookalike.members
    for name in ("checkpoint", "model2.ckpt-2000000.data-00000-of-00001"):
        assert (root / "coco" / name).read_bytes() == members[f"checkpoint/{name}"]
    assert installed_model_name(root / "coco") == "coco-2m"
    found = discovery.default_model(root)  # what the app and the CLI load now
    assert (found.path, found.kind) == (root / "coco" / "model2.ckpt-2000000", "coco")
    files = [name for name, _, _ in seen]
    assert files[0] == "word_counts.txt" and files[-1] == "assets.tar.gz"
    tarball = [(done, total) for name, done, total in seen if name == "assets.tar.gz"]
    assert tarball[0][0] == 0 and tarball[-1][0] == tarball[-1][1] > 0


def test_drive_and_github_when_ibm_is_down(hosts, root, monkeypatch):
    hosts.max.close()
    lines = []
    installed = install_model("coco-2m", root / "coco", on_failure=lines.append)
    assert installed.source.label == KRANTHIGV
    assert len(lines) == 1 and installed.failures == tuple(lines)
    assert re.fullmatch(
        rf"{IBM_RE}: http://127\.0\.0\.1:\d+/max-image-caption-generator/1\.0\.0/assets\.tar\.gz: "
        r"cannot connect \(.*refused\)",
        lines[0],
    )
    # Drive's flow: the link, redirected to the warning page, whose form leads to the file.
    assert [path.split("?")[0] for path in hosts.drive.requests] == [
        "/uc",
        "/download",
        "/download",
    ]
    assert "confirm=t" in hosts.drive.requests[-1]
    assert sorted(os.listdir(root / "coco")) == [
        PROVENANCE_FILE,
        DATA_2M,
        INDEX_2M,
        "word_counts.txt",
    ]
    record = json.loads((root / "coco" / PROVENANCE_FILE).read_text())
    assert (record["model"], record["source"]) == ("coco-2m", KRANTHIGV)
    assert record["licence"].startswith("MIT")
    # Found and loaded by default, by the library and the app alike.
    monkeypatch.setenv("IM2TXT_MODEL_DIR", str(root))
    captioner = load_captioner()
    assert (captioner.info.kind, captioner.info.vocab_size) == ("coco", 11520)
    assert captioner.info.source == str(root / "coco" / "model.ckpt-2000000")


def test_coco_1m_goes_to_its_own_folder(hosts, root):
    installed = install_model("coco-1m", root / "coco-1m")
    assert installed.dest == root / "coco-1m"
    assert (root / "coco-1m" / "model.ckpt-1000000.index").is_file()
    assert discovery.inspect_folder(root / "coco-1m").usable


# --- failures ------------------------------------------------------------------------------------


KRANTHIGV_CASES = [
    (INDEX_2M, r"model\.ckpt-2000000\.index: SHA-256 mismatch: expected [0-9a-f]{64}, got"),
    ("word_counts.txt", r"master/word_counts\.txt: SHA-256 mismatch"),
    # No digest is published for the .data file: its size, then every tensor's CRC.
    (DATA_2M, r"coco-2m: the model does not load: model\.ckpt-2000000: cannot read .*[Cc]hecksum"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "message"), KRANTHIGV_CASES, ids=["index", "vocab", "data"])
def test_a_wrong_kranthigv_file(hosts, root, name, message):
    hosts.max.close()
    wrong = remote("coco-2m", KRANTHIGV, name)
    hosts.serve(wrong, flipped(hosts.lookalike.files[name]))
    text = fails(root, rf"{KRANTHIGV_RE}: .*{message}")
    assert text.startswith("coco-2m: no source could be used (2 tried): ")
    assert f"{IBM}: " in text and "cannot connect" in text


def test_a_kranthigv_data_file_of_another_size(hosts, root):
    hosts.max.close()
    data = remote("coco-2m", KRANTHIGV, DATA_2M)
    hosts.serve(data, hosts.lookalike.files[DATA_2M][:-4])
    fails(root, rf"{DATA_2M} \(http://127\.0\.0\.1:\d+/uc\?\.\.\.\): 149,002,240 bytes, but the "
                r"published file has 149,002,244 \(a different or damaged file\)")  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    "member",
    ["checkpoint/checkpoint", "checkpoint/model2.ckpt-2000000.data-00000-of-00001",
     "checkpoint/model2.ckpt-2000000.index", "checkpoint/model2.ckpt-2000000.meta"],
    ids=["state", "data", "index", "meta"],
)  # fmt: skip
def test_a_wrong_member_of_the_ibm_tarball(hosts, root, member):
    hosts.drive.close()
    members = dict(hosts.lookalike.members)
    members[member] = flipped(members[member])
    hosts.serve(remote("coco-2m", IBM, "assets.tar.gz"), hosts.lookalike.tarball(members))
    pattern = rf"{IBM_RE}: .*/assets\.tar\.gz: {member}: SHA-512 mismatch: expected [0-9a-f]{{128}}"
    text = fails(root, pattern + r", got [0-9a-f]{128} \(a different or damaged file\); ")
    assert f"{KRANTHIGV}: {DATA_2M} (" in text and "cannot connect" in text


def test_a_wrong_ibm_vocabulary_and_a_member_missing(hosts, root):
    hosts.drive.close()
    vocab = remote("coco-2m", IBM, "word_counts.txt")
    hosts.serve(vocab, flipped(hosts.lookalike.files["word_counts.txt"]))
    fails(root, rf"{IBM_RE}: .*/assets/word_counts\.txt: SHA-256 mismatch")

    hosts.serve(vocab, hosts.lookalike.files["word_counts.txt"])
    members = dict(hosts.lookalike.members)
    del members["checkpoint/model2.ckpt-2000000.meta"]
    hosts.serve(remote("coco-2m", IBM, "assets.tar.gz"), hosts.lookalike.tarball(members))
    fails(root, rf"{IBM_RE}: .*/assets\.tar\.gz: checkpoint/model2\.ckpt-2000000\.meta is not in "
                "the archive")  # fmt: skip


def test_cut_transfers(hosts, root):
    tarball = remote("coco-2m", IBM, "assets.tar.gz")
    hosts.serve(tarball, hosts.lookalike.tarball(), mode="cut")
    data = remote("coco-2m", KRANTHIGV, DATA_2M)
    hosts.serve(data, hosts.lookalike.files[DATA_2M], mode="cut")
    text = fails(root, "transfer cut short")
    assert re.search(rf"{IBM_RE}: .*assets\.tar\.gz: transfer cut short: received [\d,]+ of", text)
    assert re.search(
        rf"{KRANTHIGV_RE}: {DATA_2M} \(.*\): transfer cut short: received 74,501,122 of "
        r"149,002,244",
        text,
    )


def test_every_host_down_is_one_message_listing_each_source(hosts, root):
    hosts.close()
    text = fails(root, r"^coco-2m: no source could be used \(2 tried\): ")
    parts = text.split("; ")
    assert parts[0].startswith(f"coco-2m: no source could be used (2 tried): {IBM}: http://")
    assert parts[1].startswith(f"{KRANTHIGV}: http://")
    assert all("cannot connect" in part for part in parts)
    # The same lines, one per source, for a front end to lay out.
    with pytest.raises(NoSourceWorked) as error:
        install_model("coco-2m", root / "coco")
    assert error.value.model == "coco-2m"
    assert [line.split(": ")[0] for line in error.value.failures] == [IBM, KRANTHIGV]
    assert "; ".join(error.value.failures) == text.split(" (2 tried): ", 1)[1]


def test_drive_refusing_the_file(hosts, root):
    hosts.max.close()
    data = remote("coco-2m", KRANTHIGV, DATA_2M)
    file_id = data.url.rsplit("id=", 1)[1]
    hosts.drive.add(f"/download?id={file_id}&export=download", DRIVE_QUOTA_PAGE, mode="html")
    fails(root, rf"{KRANTHIGV_RE}: {DATA_2M} \(.*\): Google Drive refused the file: Too many users "
                r"have viewed or downloaded this file recently\. Please try")  # fmt: skip


def test_an_existing_model_is_kept_without_force(hosts, root):
    install_model("coco-2m", root / "coco")
    seen = sum(len(s.requests) for s in (hosts.max, hosts.github, hosts.drive))
    fails(root, r"coco: already has a model \(COCO checkpoint model2\.ckpt-2000000\); not "
                r"replaced \(use --force to replace it\)$")  # fmt: skip
    assert sum(len(s.requests) for s in (hosts.max, hosts.github, hosts.drive)) == seen
    hosts.max.close()
    installed = install_model("coco-2m", root / "coco", force=True)
    assert installed.source.label == KRANTHIGV
    assert (root / "coco" / INDEX_2M).is_file()
    assert not (root / "coco" / "model2.ckpt-2000000.index").exists()  # replaced, not merged
    assert sorted(os.listdir(root)) == ["coco", "demo"]


def test_a_failed_forced_install_keeps_the_old_model(hosts, root):
    install_model("coco-2m", root / "coco")
    hosts.close()
    fails(root, "no source could be used", force=True)
    assert installed_model_name(root / "coco") == "coco-2m"


# --- a mirror ------------------------------------------------------------------------------------


@pytest.fixture
def mirror(hosts):
    server = Server()
    yield server
    server.close()


def test_a_mirror_with_kranthigv_s_files(hosts, root, mirror):
    for name in (INDEX_2M, "word_counts.txt", DATA_2M):
        mirror.add(f"/im2txt/{name}", hosts.lookalike.files[name])
    hosts.close()  # an air-gapped site: only the mirror answers
    lines = []
    installed = install_model(
        "coco-2m", root / "coco", mirror=mirror.url("/im2txt/"), on_failure=lines.append
    )
    assert installed.source.label == f"{KRANTHIGV} layout, from the mirror"
    assert lines == [
        f"{IBM} layout, from the mirror: {mirror.url('/im2txt/assets.tar.gz')}: HTTP 404 Not Found"
    ]
    assert (root / "coco" / DATA_2M).read_bytes() == hosts.lookalike.files[DATA_2M]


def test_a_mirror_with_ibm_s_tarball(hosts, root, mirror):
    mirror.add("/assets.tar.gz", hosts.lookalike.tarball())
    mirror.add("/word_counts.txt", hosts.lookalike.files["word_counts.txt"])
    installed = install_model("coco-2m", root / "coco", mirror=mirror.url(""))
    assert installed.source.label == f"{IBM} layout, from the mirror"


def test_the_published_digests_apply_to_a_mirror(hosts, root, mirror):
    mirror.add("/m/word_counts.txt", hosts.lookalike.files["word_counts.txt"])
    mirror.add(f"/m/{INDEX_2M}", flipped(hosts.lookalike.files[INDEX_2M]))
    mirror.add(f"/m/{DATA_2M}", hosts.lookalike.files[DATA_2M])
    fails(root, rf"{KRANTHIGV_RE} layout, from the mirror: .*/m/{INDEX_2M}: SHA-256 mismatch",
          mirror=mirror.url("/m"))  # fmt: skip


def test_a_mirror_must_be_http(root):
    fails(root, r"only http:// and https:// URLs", mirror="file:///srv/im2txt")


# --- the command line ----------------------------------------------------------------------------


def run(capsys, *argv) -> tuple[int, str, str]:
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_download_a_named_model_from_a_mirror(capsys, hosts, root, mirror, monkeypatch):
    for name in (INDEX_2M, "word_counts.txt", DATA_2M):
        mirror.add(f"/im2txt/{name}", hosts.lookalike.files[name])
    monkeypatch.setenv("IM2TXT_MODEL_DIR", str(root))
    status, out, err = run(capsys, "download", "coco-2m", "--mirror", mirror.url("/im2txt"))
    assert status == 0, err
    assert out.strip() == (
        f"Installed coco-2m (COCO checkpoint model.ckpt-2000000) from {KRANTHIGV} layout, "
        f"from the mirror in {root / 'coco'}"
    )
    assert f"Downloading coco-2m (149 MB) to {root / 'coco'}" in err
    # The source tried first, once, and why it was not used.
    (line,) = [line for line in err.splitlines() if IBM in line]
    assert line == (
        f"Could not use {IBM} layout, from the mirror: {mirror.url('/im2txt/assets.tar.gz')}: "
        "HTTP 404 Not Found"
    )
    assert f"{DATA_2M} [{'#' * 30}] 149.0/149.0 MB" in err

    status, out, _ = run(capsys, "download", "--list")
    lines = out.splitlines()
    assert status == 0 and [line.split()[0] for line in lines] == ["coco-2m", "coco-1m"]
    assert lines[0].startswith("coco-2m (default)  149 MB  Show and Tell on MSCOCO, 2M steps")
    assert lines[0].endswith(f"; installed in {root / 'coco'}")
    assert "installed" not in lines[1]


def test_cli_download_when_every_source_fails(capsys, hosts, root):
    hosts.close()
    before = contents(root)
    status, out, err = run(capsys, "download", "coco-2m", "--dest", root / "coco")
    assert status == 1 and out == ""
    # One message: each source's reason once, then what to do next.
    lines = err.strip().splitlines()
    assert lines[0] == f"Downloading coco-2m (149 MB) to {root / 'coco'}"
    assert lines[1] == "error: coco-2m: no source could be used:"
    ibm = remote("coco-2m", IBM, "word_counts.txt").url
    kranthigv = remote("coco-2m", KRANTHIGV, INDEX_2M).url
    assert re.fullmatch(rf"  {IBM_RE}: {re.escape(ibm)}: cannot connect \(.*\)", lines[2])
    assert re.fullmatch(rf"  {KRANTHIGV_RE}: {re.escape(kranthigv)}: cannot connect \(.*\)",
                        lines[3])  # fmt: skip
    assert err.count(ibm) == err.count(kranthigv) == 1
    assert lines[4:] == [
        "What to do: try again later; or download from a copy of the files with --mirror URL (a "
        "folder holding them under their published names); or put them in "
        f'{root / "coco"} by hand. The README\'s "Use the COCO model" lists the files.'
    ]
    assert contents(root) == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["coco-3m"], "'coco-3m' is not a model im2txt knows (known: coco-2m, coco-1m)"),
        (["coco-2m", "--sha256", "ab" * 32], "--sha256 is for a URL's archive"),
        (["https://example.org/m.tgz", "--mirror", "https://example.org/"], "--mirror is for "),
    ],
    ids=["unknown", "sha256-with-a-name", "mirror-with-a-url"],
)
def test_cli_download_argument_errors(capsys, root, argv, message):
    status, _, err = run(capsys, "download", *argv, "--dest", root / "coco")
    assert status == 1 and err.startswith(f"error: {message}")
    assert not (root / "coco").exists()


def test_cli_download_needs_a_name_or_a_url(capsys):
    status, _, err = run(capsys, "download")
    assert status == 2 and "name a model (coco-2m, coco-1m) or give a URL" in err


def test_unpacking_refuses_unsafe_members(hosts, root):
    """The tarball goes through the same safe unpacking as any download."""
    hosts.drive.close()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        link = tarfile.TarInfo("checkpoint/checkpoint")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    hosts.serve(remote("coco-2m", IBM, "assets.tar.gz"), buffer.getvalue())
    fails(root, r"unsafe archive: 'checkpoint/checkpoint' is a link")
