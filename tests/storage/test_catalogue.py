"""The catalogue of named models: the published digests and sizes, the sources' order."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from im2txt.errors import DownloadError
from im2txt.storage import catalogue
from im2txt.storage.catalogue import DEFAULT_MODEL, find_model, mirrored
from tests.reference import original_im2txt as oi


def published_files():
    """KranthiGV's files as ../shared/reference/coco-vocab holds them (the committed copies in
    tests/data/coco when ../shared is absent; a test below checks the two are the same)."""
    shared = oi.reference_dir() / "coco-vocab"
    return shared if shared.is_dir() else oi.real_vocab_path().parent


def files_of(model_name: str, source_label: str) -> dict:
    (source,) = [s for s in find_model(model_name).sources if s.label == source_label]
    return {f.name: f for f in source.files}


def test_kranthigv_digests_and_sizes_are_those_of_the_published_files():
    folder = published_files()
    for name in ("model.ckpt-2000000.index", "word_counts.txt"):
        data = (folder / name).read_bytes()
        remote = files_of("coco-2m", "KranthiGV (Google Drive + GitHub)")[name]
        assert remote.digests == {"sha256": hashlib.sha256(data).hexdigest()}, name
        assert remote.size == len(data), name
    # The same vocabulary goes with every source: IBM's copy, and the 1M checkpoint's.
    vocab = hashlib.sha256((folder / "word_counts.txt").read_bytes()).hexdigest()
    assert files_of("coco-2m", "IBM Model Asset Exchange")["word_counts.txt"].digests == {
        "sha256": vocab
    }
    assert files_of("coco-1m", "KranthiGV (Google Drive + GitHub)")["word_counts.txt"].digests == {
        "sha256": vocab
    }


def test_the_committed_copies_are_the_published_files():
    shared = oi.reference_dir() / "coco-vocab"
    if not shared.is_dir():
        pytest.skip("../shared/reference/coco-vocab is not beside the repository")
    for name in ("model.ckpt-2000000.index", "word_counts.txt", "LICENSE"):
        assert (shared / name).read_bytes() == (oi.real_vocab_path().parent / name).read_bytes()


def test_the_2m_data_size_is_the_index_s_tensors():
    """149,002,244 bytes, as a user reported it: the 383 tensors of the real index, 4 bytes each
    (float32, and the int32 global_step)."""
    import numpy as np
    import tensorflow as tf

    shapes = dict(tf.train.list_variables(str(oi.real_checkpoint_prefix())))
    assert 4 * sum(int(np.prod(shape)) for shape in shapes.values()) == 149_002_244
    data = files_of("coco-2m", "KranthiGV (Google Drive + GitHub)")
    assert data["model.ckpt-2000000.data-00000-of-00001"].size == 149_002_244
    assert find_model("coco-2m").size == 149_002_244


def test_coco_2m_is_the_default_and_tries_ibm_then_kranthigv():
    assert DEFAULT_MODEL == "coco-2m" == catalogue.model_names()[0]
    model = find_model("coco-2m")
    assert [s.label for s in model.sources] == [
        "IBM Model Asset Exchange",
        "KranthiGV (Google Drive + GitHub)",
    ]
    assert model.folder == "coco"  # where the default lookup looks first
    (tarball,) = [f for f in model.sources[0].files if f.members]
    # IBM's object storage, where IBM moved its Model Asset Exchange tarballs (IBM/MAX-Image-
    # Resolution-Enhancer#55, #59): the path IBM's dead CDN served it at, under the new host.
    assert tarball.url == (
        "https://codait-cos-max.s3.us.cloud-object-storage.appdomain.cloud/"
        "max-image-caption-generator/1.0.0/assets.tar.gz"
    )
    assert [m.path for m in tarball.members] == [
        "checkpoint/checkpoint",
        "checkpoint/model2.ckpt-2000000.data-00000-of-00001",
        "checkpoint/model2.ckpt-2000000.index",
        "checkpoint/model2.ckpt-2000000.meta",
    ]
    assert all(re.fullmatch(r"[0-9a-f]{128}", m.digests["sha512"]) for m in tarball.members)


@pytest.mark.parametrize(
    ("name", "drive_id"),
    [("coco-2m", "0B3laN3vvvSD2T1RPeDA5djJ6bFE"), ("coco-1m", "0B3laN3vvvSD2WWxuR3VRQzhycWM")],
)
def test_the_data_files_are_kranthigv_s_drive_files(name, drive_id):
    step = name[5] + "000000"
    remote = files_of(name, "KranthiGV (Google Drive + GitHub)")[
        f"model.ckpt-{step}.data-00000-of-00001"
    ]
    assert remote.drive
    parts = urlsplit(remote.url)
    assert parts.hostname == "drive.google.com" and parse_qs(parts.query)["id"] == [drive_id]


def test_every_url_is_https_and_every_source_ends_with_its_largest_file():
    for model in catalogue.CATALOGUE:
        for source in model.sources:
            assert all(urlsplit(f.url).scheme == "https" for f in source.files)
            # IBM's CDN stopped resolving in 2021-22 (IBM/MAX-Image-Caption-Generator#77).
            assert not any(urlsplit(f.url).hostname.endswith(".cdn.appdomain.cloud")
                           for f in source.files)  # fmt: skip
            # Small files first: a wrong one is found before the long transfer.
            assert source.files[-1].drive or source.files[-1].members, source.label


def test_unknown_name():
    with pytest.raises(DownloadError, match=r"'coco-3m' is not a model .* coco-2m, coco-1m"):
        find_model("coco-3m")


def test_a_mirror_serves_every_file_under_its_name():
    source = find_model("coco-2m").sources[1]
    local = mirrored(source, "http://mirror.example/im2txt/")
    assert [f.url for f in local.files] == [
        f"http://mirror.example/im2txt/{f.name}" for f in source.files
    ]
    assert not any(f.drive for f in local.files)
    assert [(f.size, f.digests) for f in local.files] == [(f.size, f.digests) for f in source.files]
