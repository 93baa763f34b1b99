"""The exported SavedModel (export.py, `python -m im2txt export`), loaded by a fresh Python in which
im2txt cannot be imported, captions real photos like the Captioner."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fixtures.tiny_model import write_tiny_bundle
from im2txt import load_captioner
from im2txt.cli import main
from im2txt.config import DecodeConfig
from im2txt.errors import ModelError
from im2txt.export import export_model
from tests.reference import original_im2txt as oi

# Run by `python -I` (no PYTHONPATH, no script folder or cwd on sys.path) in an empty folder: the
# repository is not on sys.path. Where im2txt is installed (CI's `pip install .`) it is hidden.
SERVE = """
import importlib.util, json, sys
if importlib.util.find_spec("im2txt") is not None:
    sys.modules["im2txt"] = None
try:
    import im2txt
except ImportError:
    pass
else:
    sys.exit("im2txt is importable")
import tensorflow as tf

images = tf.constant([open(path, "rb").read() for path in sys.argv[2:]])
results = []
for folder in sys.argv[1].split(","):
    serve = tf.saved_model.load(folder).signatures["serving_default"]
    out = serve(images=images)
    (inputs,) = serve.structured_input_signature[1].values()
    results.append({
        "input": [inputs.name, inputs.dtype.name, inputs.shape.as_list()],
        "outputs": {
            k: [v.dtype.name, v.shape.as_list()] for k, v in serve.structured_outputs.items()
        },
        "captions": [[c.decode() for c in row] for row in out["captions"].numpy()],
        "log_probabilities": [[float(x) for x in row] for row in out["log_probabilities"].numpy()],
    })
assert not [m for m, v in sys.modules.items() if m.split(".")[0] == "im2txt" and v is not None]
print(json.dumps(results))
"""


def serve_in_fresh_python(folders: list[Path], images: list[Path], cwd: Path) -> list[dict]:
    cwd.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-I", "-c", SERVE, ",".join(map(str, folders)), *map(str, images)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def assert_serves_like_the_captioner(served: dict, expected: list[list], beam_size: int) -> None:
    assert served["input"] == ["images", "string", [None]]
    assert served["outputs"] == {
        "captions": ["string", [None, beam_size]],
        "log_probabilities": ["float32", [None, beam_size]],
    }
    assert len(served["captions"]) == len(expected)
    for captions, log_probabilities, ours in zip(
        served["captions"], served["log_probabilities"], expected, strict=True
    ):
        missing = beam_size - len(ours)
        assert captions == [c.text for c in ours] + [""] * missing
        assert log_probabilities[len(ours) :] == [-math.inf] * missing
        for value, caption in zip(log_probabilities, ours, strict=False):
            assert value == pytest.approx(caption.log_probability, rel=1e-5, abs=1e-6)


def photos() -> list[Path]:
    return [oi.seed_image_dir() / name for name in oi.seed_image_names()]


def test_a_small_model_exported_by_the_command_line(tmp_path, capsys):
    bundle = write_tiny_bundle(tmp_path / "tiny", seed=3)
    # Real photos, one of them turned by its EXIF tag, and a PNG.
    turned = tmp_path / "turned.jpg"
    image = Image.open(photos()[0])
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(turned, "JPEG", exif=exif.tobytes())
    png = tmp_path / "photo.png"
    Image.open(photos()[1]).save(png)
    images = [*photos(), turned, png]

    exported = tmp_path / "export" / "1"
    assert main(["export", str(exported), "--model", str(bundle), "--beam-size", "4"]) == 0
    assert "serving_default" in capsys.readouterr().out
    # Captions no longer than one token: the only caption is <S> (partial), 3 slots empty.
    short = tmp_path / "short"
    export_model(short, bundle, DecodeConfig(beam_size=4, max_caption_length=1))
    served, served_short = serve_in_fresh_python([exported, short], images, tmp_path / "empty")

    captioner = load_captioner(bundle)
    expected = captioner.caption_many([str(p) for p in images], decode=DecodeConfig(beam_size=4))
    assert_serves_like_the_captioner(served, expected, beam_size=4)
    # Some images have fewer than 4 captions (complete ones only, never mixed with partial ones):
    # their empty slots are "" and -inf.
    sizes = {len(captions) for captions in expected}
    assert 4 in sizes and min(sizes) < 4
    # The turned photo is captioned as the Captioner sees it: upright, not as stored.
    assert served["log_probabilities"][-2] != served["log_probabilities"][0]
    assert served_short["captions"] == [["", "", "", ""]] * len(images)
    assert served_short["log_probabilities"] == [[0.0, -math.inf, -math.inf, -math.inf]] * len(
        images
    )


def test_export_refuses_a_folder_in_use(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "saved_model.pb").write_bytes(b"")
    bundle = write_tiny_bundle(tmp_path / "tiny")
    with pytest.raises(ModelError, match="not an empty folder"):
        export_model(tmp_path / "out", bundle)


@pytest.mark.slow
def test_a_coco_size_model_serves_like_the_captioner(tmp_path):
    vocab = oi.OriginalVocabulary(oi.real_vocab_path())
    folder = tmp_path / "coco"
    folder.mkdir()
    oi.save_original_checkpoint(oi.random_weights(0, num_words=len(vocab)), folder)
    (folder / "word_counts.txt").write_bytes(oi.real_vocab_path().read_bytes())
    exported = export_model(tmp_path / "export", folder)
    assert exported.info.kind == "coco"
    (served,) = serve_in_fresh_python([exported.path], photos(), tmp_path / "empty")
    captioner = load_captioner(folder)
    expected = captioner.caption_many([str(p) for p in photos()])
    assert_serves_like_the_captioner(served, expected, beam_size=3)
    # Lively: the photos are not all captioned alike.
    assert len({captions[0] for captions in served["captions"]}) > 1
    assert np.isfinite(served["log_probabilities"]).all()
