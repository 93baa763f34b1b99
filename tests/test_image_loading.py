"""Image loading's limits: the pixel-limit setting, Pillow's global left alone, memory bounded by
design (measured in a fresh process), decodes taking turns, cut JPEGs kept from TensorFlow."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fixtures.paths import REPO
from im2txt import image_loading
from im2txt.errors import ImageError
from im2txt.image_loading import MAX_PIXELS_ENV, load_image, max_pixels


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def run_python(code: str, **env) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2", **env},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_importing_the_library_leaves_pillows_limit_alone():
    code = "from PIL import Image; d = Image.MAX_IMAGE_PIXELS; import im2txt, im2txt.video; "
    code += "print(Image.MAX_IMAGE_PIXELS == d, d)"
    assert run_python(code).split()[0] == "True"


def test_the_pixel_limit_is_a_setting(monkeypatch):
    pixels = np.zeros((30, 40, 3), np.uint8)  # 1,200 pixels
    assert max_pixels() == image_loading.DEFAULT_MAX_PIXELS
    monkeypatch.setenv(MAX_PIXELS_ENV, "1000")
    with pytest.raises(ImageError, match=r"^small\.png: image is 40x30 \(0.0012 MP\), over the "):
        load_image(png(pixels), "small.png")
    monkeypatch.setenv(MAX_PIXELS_ENV, "1_200")
    assert load_image(png(pixels)).pixels.shape == (30, 40, 3)
    monkeypatch.setenv(MAX_PIXELS_ENV, "50e6")
    assert max_pixels() == 50_000_000
    monkeypatch.setenv(MAX_PIXELS_ENV, "lots")
    with pytest.raises(ImageError, match=r"IM2TXT_MAX_PIXELS='lots': the pixel limit must be"):
        load_image(png(pixels))


MEASURE = """
import io, json, numpy as np
from PIL import Image
from im2txt.image_loading import load_image
def hwm():
    return int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) * 1024
mode, side = {mode!r}, {side}
image = Image.new(mode, (side, side), {fill!r})
buffer = io.BytesIO()
image.save(buffer, {fmt!r})
data = buffer.getvalue()
del image, buffer
before = hwm()
pixels = load_image(data).pixels
print(json.dumps(dict(grown=hwm() - before, rgb=pixels.nbytes)))
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "mode, fill, fmt",
    [("RGBA", (10, 200, 30, 128), "PNG"), ("I;16", 1000, "TIFF"), ("F", 0.5, "TIFF")],
)
def test_decoding_holds_a_small_multiple_of_the_8_bit_image(mode, fill, fmt):
    """Native pixels (at most 4 bytes) plus the RGB result (3 bytes) and a band of temporaries:
    under 3x the RGB image. Whole-image conversions took 7x (RGBA) to 9x (16-bit)."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs Linux's /proc")
    code = MEASURE.format(mode=mode, side=5000, fill=fill, fmt=fmt)
    found = json.loads(run_python(code).strip().splitlines()[-1])
    assert found["grown"] < 3 * found["rgb"], found


def test_large_decodes_take_turns(monkeypatch):
    """The process-wide budget: two images of 60% of the limit never decode at the same time;
    small ones do."""
    monkeypatch.setenv(MAX_PIXELS_ENV, "5000")
    running, peak, lock = [0], [0], threading.Lock()
    real = image_loading.to_rgb

    def slow_convert(image):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return real(image)

    monkeypatch.setattr(image_loading, "to_rgb", slow_convert)

    def decode_both(side: int) -> int:
        data = png(np.zeros((side, side, 3), np.uint8))
        peak[0] = 0
        threads = [threading.Thread(target=load_image, args=(data,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return peak[0]

    assert decode_both(55) == 1  # 3,025 pixels each: 6,050 > 5,000
    assert decode_both(20) == 2  # 400 each: side by side


def jpeg_with_thumbnail(cut: bool) -> bytes:
    """A JPEG whose EXIF holds a whole thumbnail JPEG (with its own end marker)."""
    thumbnail = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(thumbnail, "JPEG")
    exif = Image.Exif()
    exif[0x0112] = 1
    main = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 256, (120, 160, 3), np.uint8)
    Image.fromarray(pixels).save(main, "JPEG", exif=exif.tobytes())
    data = main.getvalue()
    # The thumbnail's bytes go into an APP2 segment right after SOI.
    segment = (
        b"\xff\xe2" + (len(thumbnail.getvalue()) + 2).to_bytes(2, "big") + thumbnail.getvalue()
    )
    data = data[:2] + segment + data[2:]
    return data[: len(data) * 2 // 3] if cut else data


def test_a_cut_jpeg_is_told_from_a_whole_one():
    assert b"\xff\xd9" in jpeg_with_thumbnail(cut=True)  # the thumbnail's end marker
    assert image_loading._jpeg_is_complete(jpeg_with_thumbnail(cut=False))
    assert not image_loading._jpeg_is_complete(jpeg_with_thumbnail(cut=True))
    with pytest.raises(ImageError, match=r"^cut\.jpg: corrupt or truncated JPEG"):
        load_image(jpeg_with_thumbnail(cut=True), "cut.jpg")
    assert load_image(jpeg_with_thumbnail(cut=False)).pixels.shape == (120, 160, 3)


def test_a_cut_jpeg_leaves_no_stray_line_on_stderr(tmp_path):
    """TensorFlow's decoder printed "Premature end of JPEG data" (or "Input file read error")
    before failing; the command line's stderr holds only its own lines."""
    path = tmp_path / "cut.jpg"
    path.write_bytes(jpeg_with_thumbnail(cut=True))
    result = subprocess.run(
        [sys.executable, "-m", "im2txt", "caption", str(path)],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[-1] == f"error: {path}: corrupt or truncated JPEG (the data stops before its end)"
    assert all(line.startswith(("Model:", "Note:", "error:")) for line in lines), lines
