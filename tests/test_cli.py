"""The command line: `python -m im2txt caption` text and JSON output, errors, folders."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from PIL import Image

from fixtures.clips import encode, pattern_clip, shot_frames
from fixtures.paths import REPO
from fixtures.tiny_model import write_tiny_bundle
from im2txt import cli, load_captioner
from im2txt.config import DecodeConfig


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_bundle(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for name in ("b.png", "a.jpg", "sub/c.webp"):
        pixels = rng.integers(0, 256, (30 + len(name), 40, 3), np.uint8)
        Image.fromarray(pixels).save(folder / name)
    (folder / "notes.txt").write_text("not an image, and not named like one: skipped")
    (folder / "fake.jpg").write_text("text named .jpg")
    return folder


def run(capsys, *argv) -> tuple[int, str, str]:
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_help_lists_commands():
    result = subprocess.run(
        [sys.executable, "-m", "im2txt", "--help"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "caption" in result.stdout


def test_folder_is_walked_sorted_and_bad_files_reported(capsys, tiny, images):
    status, out, err = run(capsys, "caption", "--model", tiny, images)
    assert status == 1  # fake.jpg failed
    headers = [line for line in out.splitlines() if line.startswith("Captions for image")]
    assert headers == [
        "Captions for image a.jpg:",
        "Captions for image b.png:",
        "Captions for image c.webp:",
    ]
    assert "error: " in err and "fake.jpg: not an image" in err
    assert "notes.txt" not in out + err
    assert "Model: tiny test model" in err


def test_text_output_matches_the_library(capsys, tiny, images):
    status, out, _ = run(capsys, "caption", "--model", tiny, "--beam-size", "2", images / "a.jpg")
    assert status == 0
    expected = load_captioner(tiny).caption(images / "a.jpg", decode=DecodeConfig(beam_size=2))
    lines = out.splitlines()
    assert lines[0] == "Captions for image a.jpg:"
    assert lines[1:] == [f"  {i}) {c.text} (p={c.probability:f})" for i, c in enumerate(expected)]


def test_json_output(capsys, tiny, images):
    status, out, err = run(
        capsys, "caption", "--json", "--model", tiny, "--max-length", "4",
        images / "b.png", images / "fake.jpg", images / "missing.png",
    )  # fmt: skip
    assert status == 1
    results = json.loads(out)  # stdout holds only the JSON array
    assert [r["image"] for r in results] == [
        str(images / "b.png"),
        str(images / "fake.jpg"),
        str(images / "missing.png"),
    ]
    captions = results[0]["captions"]
    assert 1 <= len(captions) <= 3
    for caption in captions:
        assert set(caption) == {"text", "probability", "log_probability"}
        assert caption["probability"] == pytest.approx(np.exp(caption["log_probability"]))
        assert len(caption["text"].split()) <= 3  # max length 4 tokens: <S> + 3
    assert "not an image" in results[1]["error"] and "\n" not in results[1]["error"]
    assert "file not found" in results[2]["error"]
    assert err  # logs went to stderr


def test_bad_model_path_is_one_line(capsys, tmp_path, images):
    status, out, err = run(capsys, "caption", "--model", tmp_path, images / "a.jpg")
    assert status == 1 and out == ""
    assert err.strip().count("\n") == 0 and "no checkpoint in this folder" in err


def test_bad_arguments(capsys, images):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["caption", "--beam-size", "0", str(images)])
    assert exit_info.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_empty_folder(capsys, tmp_path):
    status, _, err = run(capsys, "caption", tmp_path)
    assert status == 1 and "no image files" in err


def test_image_bytes_in_json_keep_order_with_many_images(capsys, tiny, tmp_path):
    # More images than one batch: order and names survive the chunking.
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):
        buffer = io.BytesIO()
        Image.new("RGB", (20, 20), (i * 6, 0, 0)).save(buffer, "PNG")
        (folder / f"{i:02d}.png").write_bytes(buffer.getvalue())
    status, out, _ = run(capsys, "caption", "--json", "--model", tiny, folder)
    assert status == 0
    names = [r["image"] for r in json.loads(out)]
    assert names == [str(folder / f"{i:02d}.png") for i in range(40)]


def test_video_writes_the_clip_subtitles_and_prints_segments(capsys, tiny, tmp_path):
    from im2txt.video import probe

    clip = pattern_clip(tmp_path / "clip.mp4")
    status, out, err = run(
        capsys, "video", clip, "--model", tiny, "--every", "0.5", "--beam-size", "2",
        "--srt", tmp_path / "c.srt", "--vtt", tmp_path / "c.vtt", "--json", tmp_path / "c.json",
    )  # fmt: skip
    assert status == 0, err
    lines = out.splitlines()
    assert lines and all(
        re.fullmatch(r"\[\d\d:\d\d\.\d - \d\d:\d\d\.\d\] .* \(p=\d\.\d{6}\)", line)
        for line in lines
    )
    assert lines[0].startswith("[00:00.0 - ")
    output = tmp_path / "clip_captioned.mp4"  # the default: beside the input
    info = probe(output)
    assert info.video_codec == "h264" and info.has_audio
    assert f"Wrote {output}" in err and "Rendering [" in err
    assert (tmp_path / "c.vtt").read_text().startswith("WEBVTT\n")
    assert json.loads((tmp_path / "c.json").read_text())["every"] == 0.5
    assert (tmp_path / "c.srt").read_text() == "" or " --> " in (tmp_path / "c.srt").read_text()


def test_video_scenes_caption_each_shot_from_its_cut(capsys, tiny, tmp_path):
    # 25 fps: cuts at frames 30 (1.2 s), 50, 54 (2.16 s) and 70 (2.8 s); 50-53 is under --min-shot.
    shots = [("still", "red", 30), ("pan", "blue", 20), ("still", "yellow", 4),
             ("pan", "blue", 16), ("still", "green", 30)]  # fmt: skip
    clip = encode(tmp_path / "shots.mp4", shot_frames(shots), "25")
    status, out, err = run(
        capsys, "video", clip, "--model", tiny, "--scenes", "--scene-threshold", "3",
        "--min-shot", "0.4", "--every", "1", "--json", tmp_path / "c.json",
    )  # fmt: skip
    assert status == 0, err
    document = json.loads((tmp_path / "c.json").read_text())
    cuts = document["cuts"]
    assert cuts == pytest.approx([1.2, 2.16, 2.8])  # the yellow shot (2.0-2.16 s) joined the blue
    assert "Shots: 4; cuts at 00:01.2, 00:02.2, 00:02.8" in err
    starts = [segment["start"] for segment in document["segments"]]
    assert set(cuts) <= set(starts)  # a segment starts at every cut
    assert all(segment["shot"] in (0, 1, 2, 3) for segment in document["segments"])
    assert [s["time"] for s in document["samples"]] == pytest.approx([0, 1, 1.2, 2.16, 2.8, 3.8])
    lines = out.splitlines()
    assert lines[0].startswith("[00:00.0 - ") and "] shot 1: " in lines[0]
    assert "] shot 4: " in lines[-1]


def test_video_bad_input_is_one_line(capsys, tiny, tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    status, out, err = run(capsys, "video", bad, "--model", tiny, "-o", tmp_path / "out.mp4")
    assert status == 1 and out == ""
    assert err == f"error: {bad}: not a video file (ffmpeg cannot read it)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.mp4"]


def test_video_on_a_zip_named_png_or_a_photo_says_what_it_is_in_plain_words(capsys, tiny, tmp_path):
    archive = tmp_path / "holiday.png"
    with zipfile.ZipFile(archive, "w") as opened:
        opened.writestr("notes.txt", "not a picture\n" * 50)
    photo = tmp_path / "photo.png"
    Image.new("RGB", (40, 30), "red").save(photo)
    for path, reason in [
        (archive, "not a video, nor an image (unrecognised file format)"),
        (photo, "an image (PNG), not a video; caption it as an image"),
    ]:
        status, out, err = run(capsys, "video", path, "--model", tiny, "-o", tmp_path / "out.mp4")
        assert status == 1 and out == ""
        assert err == f"error: {path}: {reason}\n"  # ffmpeg's "image2" is gone
    assert not (tmp_path / "out.mp4").exists()


def test_stderr_carries_no_tensorflow_start_up_notices(tiny, images):
    result = subprocess.run(
        [sys.executable, "-m", "im2txt", "caption", "--model", str(tiny), str(images / "a.jpg")],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Captions for image a.jpg:\n")
    assert result.stderr.splitlines() == [f"Model: tiny test model, 9 words, {tiny}"]


# --- issue 12: refused before any work, and what was silent -------------------------------------


@pytest.mark.parametrize(
    "output, message",
    [
        ("folder", "is a folder; give the captioned clip a file name"),
        ("out.avi", "which goes in .m4v, .mkv, .mov, .mp4; not .avi"),
    ],
)
def test_video_output_is_checked_before_any_work(capsys, tiny, tmp_path, output, message):
    clip = pattern_clip(tmp_path / "clip.mp4", seconds=1)
    (tmp_path / "folder").mkdir()
    status, out, err = run(capsys, "video", clip, "--model", tiny, "-o", tmp_path / output)
    assert status == 1 and out == ""
    assert err == f"error: {tmp_path / output}: " + err.split(": ", 2)[2]
    assert message in err and err.count("\n") == 1  # no "Model:" line: nothing was loaded
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "folder"]


def test_a_caption_length_below_decode_configs_is_refused(capsys, images):
    # DecodeConfig's bound (1, the original's); the command line once asked for 2 on its own.
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["caption", "--max-length", "0", str(images / "a.jpg")])
    assert exit_info.value.code == 2
    assert "argument --max-length: must be at least 1, got 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--beam-size", "0"], "argument --beam-size: must be at least 1, got 0"),
        (["--length-normalization", "-1"],
         "argument --length-normalization: must not be negative, got -1.0"),
        (["--max-length", "two"], "argument --max-length: invalid int value: 'two'"),
    ],
)  # fmt: skip
def test_decoding_arguments_are_checked_by_decode_config(capsys, images, arguments, message):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["caption", *arguments, str(images / "a.jpg")])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_the_video_command_offers_neither_length_nor_normalization(capsys):
    with pytest.raises(SystemExit):
        cli.main(["video", "--help"])
    out = capsys.readouterr().out
    assert "--beam-size" in out
    assert "--max-length" not in out and "--length-normalization" not in out


def test_a_vocabulary_smaller_than_the_models_is_refused(capsys, tiny, images, tmp_path):
    """A tiny model has 9 softmax rows; a 4-word vocabulary leaves ids 4-8 without words (they
    were '<UNK>' in the captions, and the exit status 0)."""
    vocab = tmp_path / "small_words.txt"
    vocab.write_text("<S> 3\n</S> 3\na 2\n. 1\n")
    status, out, err = run(capsys, "caption", "--model", tiny, "--vocab", vocab, images / "a.jpg")
    assert status == 1 and out == ""
    assert err.splitlines()[-1].startswith(f"error: {vocab}: the model wrote word id ")
    assert "it is not the vocabulary the model was trained with" in err


def test_an_incomplete_coco_folder_is_named_when_the_demo_is_used(capsys, images, tmp_path,
                                                                  monkeypatch):  # fmt: skip
    coco = tmp_path / "models" / "coco"
    coco.mkdir(parents=True)
    (coco / "model.ckpt-2000000.index").write_bytes(b"")
    (coco / "word_counts.txt").write_text("a 1\n")
    monkeypatch.setenv("IM2TXT_MODEL_DIR", str(tmp_path / "models"))
    status, _, err = run(capsys, "caption", images / "a.jpg")
    assert status == 0
    lines = err.splitlines()
    assert lines[0] == (
        "Note: incomplete checkpoint model.ckpt-2000000 is not used: "
        f"{coco}: model.ckpt-2000000.index has no .data-00000-of-00001 file beside it"
    )
    assert lines[1].startswith("Model: im2txt demo (generated shapes)")
