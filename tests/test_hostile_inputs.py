"""The hostile-input corpus (fixtures/hostile) through the library and the command line: every good
file captioned (a clip rendered), every bad one a single line naming it, nothing else."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest

from fixtures.hostile import IMAGES, VIDEOS
from fixtures.tiny_model import write_tiny_bundle
from im2txt import cli, load_captioner
from im2txt.errors import VideoError
from im2txt.image_loading import PREVIEW_SIDE, preview
from im2txt.video import make_captioned_video, probe

GOOD_IMAGES = [k for k in IMAGES if k.good]
BAD_IMAGES = [k for k in IMAGES if not k.good]


@pytest.fixture(scope="module")
def corpus(hostile_corpus):
    return hostile_corpus


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_bundle(tmp_path_factory.mktemp("models") / "tiny")


def test_the_corpus_is_large_and_small():
    assert len(IMAGES) + len(VIDEOS) >= 30
    assert len({k.name for k in IMAGES + VIDEOS}) == len(IMAGES + VIDEOS)


def test_files_are_small(corpus):
    assert all(path.stat().st_size < 100_000 for path in corpus.values())


def test_images_in_one_batch(corpus, tiny):
    captioner = load_captioner(tiny)
    results = captioner.caption_each(
        [corpus[k.name].read_bytes() for k in IMAGES], names=[k.name for k in IMAGES]
    )
    for kind, result in zip(IMAGES, results, strict=True):
        if kind.good:
            assert result.error is None and result.captions, (kind.name, result.error)
        else:
            assert result.error is not None, kind.name
            assert result.error.startswith(f"{kind.name}: ") and kind.error in result.error
            assert "\n" not in result.error


@pytest.mark.parametrize("kind", GOOD_IMAGES, ids=lambda k: k.name)
def test_every_captioned_image_can_be_shown(corpus, kind):
    pixels = preview(corpus[kind.name].read_bytes(), kind.name)
    assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
    assert min(pixels.shape[:2]) >= 1 and max(pixels.shape[:2]) <= PREVIEW_SIDE


def test_preview_keeps_thin_images_visible_and_upright(corpus):
    assert preview(corpus["wide_100000x1.png"]).shape == (1, PREVIEW_SIDE, 3)
    assert preview(corpus["tall_1x20000.png"]).shape == (PREVIEW_SIDE, 1, 3)
    # Stored 1 wide and 3000 high, EXIF orientation 8: shown 3000 wide.
    assert preview(corpus["thin_rotated.png"]).shape == (1, PREVIEW_SIDE, 3)


@pytest.mark.parametrize("kind", VIDEOS, ids=lambda k: k.name)
def test_videos(corpus, tiny, kind, tmp_path):
    captioner = load_captioner(tiny)
    server_copy = tmp_path / "upload.bin"  # what a server names an upload
    server_copy.write_bytes(corpus[kind.name].read_bytes())
    output = tmp_path / "out.mp4"
    if kind.good:
        result = make_captioned_video(captioner, server_copy, output, name=kind.name)
        info = probe(result.output)
        assert info.video_codec == "h264" and info.pixel_format.startswith("yuv420p")
        assert result.captions.segments
    else:
        with pytest.raises(VideoError) as caught:
            make_captioned_video(captioner, server_copy, output, name=kind.name)
        message = str(caught.value)
        assert message.startswith(f"{kind.name}: ") and kind.error in message
        assert str(tmp_path) not in message and tempfile.gettempdir() not in message
        assert "\n" not in message
        assert not output.exists()


def test_command_line_images(corpus, tiny, capsys):
    folder = next(iter(corpus.values())).parent
    status = cli.main(["caption", "--model", str(tiny), *(str(corpus[k.name]) for k in IMAGES)])
    out, err = capsys.readouterr()
    assert status == 1
    headers = [line for line in out.splitlines() if line.startswith("Captions for image")]
    assert headers == [f"Captions for image {k.name}:" for k in GOOD_IMAGES]
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {folder / k.name}: {_rest(k, err)}" for k in BAD_IMAGES]
    assert "Traceback" not in err and "Warning" not in err


def _rest(kind, err: str) -> str:
    line = next(line for line in err.splitlines() if f"/{kind.name}: " in line)
    rest = line.split(f"/{kind.name}: ", 1)[1]
    assert kind.error in rest, (kind.name, rest)
    return rest


@pytest.mark.slow
@pytest.mark.parametrize("kind", VIDEOS, ids=lambda k: k.name)
def test_command_line_videos(corpus, tiny, kind, tmp_path, capsys):
    output = tmp_path / "out.mp4"
    status = cli.main(["video", str(corpus[kind.name]), "--model", str(tiny), "-o", str(output)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if kind.good:
        assert status == 0 and output.is_file() and out.startswith("[00:00.0 - ")
    else:
        assert status == 1 and not output.exists()
        assert err.splitlines()[-1].startswith(f"error: {corpus[kind.name]}: ")
        assert kind.error in err
