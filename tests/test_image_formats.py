"""Which files are read: the list derived from the decoders installed, every format on it really
decoded, everyday files (fixtures.everyday) decoded to their scenes, and a plain line for the
pictures that are not read; a PNG with a 2 MB ICC profile read within Pillow's bounds."""

from __future__ import annotations

import gzip
import io
import tracemalloc

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image, ImageFile, PngImagePlugin

from fixtures.everyday import IMAGES, LOSSLESS, SCENES, big_icc_profile, scene, write_everyday
from fixtures.hostile import IMAGES as HOSTILE
from im2txt.errors import ImageError
from im2txt.image_formats import (
    is_picture_name,
    picture_suffixes,
    readable_formats,
    readable_suffixes,
)
from im2txt.image_loading import decode_peak_bytes, image_format, load_image


@pytest.fixture(scope="module")
def everyday(tmp_path_factory):
    return write_everyday(tmp_path_factory.mktemp("everyday"))


def test_the_list_holds_what_phones_cameras_and_the_web_save():
    assert {
        ".jpg", ".jpeg", ".png", ".heic", ".heif", ".avif", ".webp", ".gif", ".tif", ".tiff",
        ".bmp", ".mpo", ".jp2", ".tga", ".ico", ".psd",
    } <= readable_suffixes()  # fmt: skip
    # Drawings, documents, videos and formats Pillow only identifies are not read ...
    for suffix in (".svg", ".eps", ".ps", ".pdf", ".mpg", ".wmf", ".h5", ".jxl", ".txt"):
        assert suffix not in readable_suffixes(), suffix
    # ... but the pictures among them are still named like pictures, so that folders list them.
    assert {".svg", ".eps", ".wmf", ".jxl"} <= picture_suffixes()
    assert is_picture_name("IMG_0001.HEIC") and is_picture_name("a.b.svg")
    assert not is_picture_name("clip.mp4") and not is_picture_name("notes.txt")
    assert not is_picture_name("heic")


def test_every_format_on_the_list_that_pillow_can_write_is_decoded(tmp_path):
    """Derived from the registry, so checked against it: each format read that Pillow (or
    pillow-heif) can also write, written by it under the format's own suffix and loaded back."""
    pixels = scene(60, (48, 32))
    suffix_of = {}
    for suffix, name in sorted(Image.registered_extensions().items()):
        suffix_of.setdefault(name, suffix)
    written = []
    for name in sorted(readable_formats() & set(Image.SAVE)):
        path = tmp_path / f"image{suffix_of.get(name, '')}"  # SPIDER has no suffix
        for mode in ("RGB", "L", "1", "P", "F"):
            try:
                Image.fromarray(pixels).convert(mode).save(path, name)
                break
            except (OSError, ValueError, KeyError):
                continue
        else:
            continue  # no mode this writer takes (it reads them all the same)
        loaded = load_image(path).pixels
        assert loaded.shape[2] == 3 and loaded.dtype == np.uint8, name
        assert image_format(path) is not None, name  # a one-frame MPO is a JPEG, a DIB a BMP
        written.append(name)
    assert {"AVIF", "HEIF", "JPEG2000", "MPO", "TGA", "ICO", "WEBP", "PNG", "BLP"} <= set(written)


@pytest.mark.parametrize("kind", [k for k in IMAGES if k.good], ids=lambda k: k.name)
def test_everyday_files_decode_to_their_scene(everyday, kind):
    """Lossless files give the scene exactly, lossy ones within a few levels; the HEIC stored
    sideways with an EXIF orientation comes out upright (libheif turns it; not turned twice)."""
    loaded = load_image(everyday[kind.name]).pixels
    expected = SCENES[kind.name]
    assert loaded.shape == expected.shape, kind.name
    difference = np.abs(loaded.astype(int) - expected)
    if kind.name in LOSSLESS:
        assert difference.max() == 0, kind.name
    else:
        assert difference.mean() < 3, (kind.name, difference.mean())


def not_read(data: bytes, name: str) -> str:
    with pytest.raises(ImageError) as caught:
        load_image(data, name)
    return str(caught.value)


SVG = b'<?xml version="1.0"?>\n<!-- made by hand -->\n<svg xmlns="http://www.w3.org/2000/svg"/>'


def test_pictures_not_read_get_a_line_saying_what_to_do(monkeypatch):
    def no_ghostscript(*args, **kwargs):
        raise AssertionError("Ghostscript must never run on an upload")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", no_ghostscript)
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 20 10\nshowpage\n%%EOF\n"
    mpeg = b"\x00\x00\x01\xb3" + bytes([0x01, 0x40, 0xF0, 0x13]) + bytes(64)  # 20x240 header
    cases = {
        "drawing.svg": (SVG, "an SVG drawing, not a photo; export it as PNG"),
        "drawing.svgz": (gzip.compress(SVG), "an SVG drawing, not a photo; export it as PNG"),
        "logo.eps": (eps, "a PostScript (EPS) drawing, not a photo; export it as PNG"),
        "scan.pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document, not a photo; export the "
                     "page as PNG or JPEG"),
        "photo.jxl": (b"\xff\x0a\xfa\x7f\x01\x90", "a JPEG XL image, which cannot be read yet; "
                      "save it as JPEG or PNG"),
        # Pillow reads only an MPEG's header: it would hand over a black frame.
        "clip.mpg": (mpeg, "an MPEG video, not a photo; caption it as a video"),
    }  # fmt: skip
    for name, (data, reason) in cases.items():
        assert not_read(data, name) == f"{name}: {reason}"
    # A web page is not a drawing: the plain line stays.
    page = b"<!doctype html><html><body><svg></svg></body></html>"
    assert not_read(page, "page.png") == "page.png: not an image (unrecognised file format)"


def png_with_icc(pixels: np.ndarray, profile: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", icc_profile=profile)
    return buffer.getvalue()


def test_a_png_with_a_2_mb_icc_profile_is_read_without_it():
    """Pillow refuses the profile past its 1 MB bound for compressed chunks; the pixels are read
    (the profile was never used: the original ignored it too), Pillow's bound left as it was."""
    pixels = scene(50)
    data = png_with_icc(pixels, big_icc_profile())
    with pytest.raises(ValueError, match="MAX_TEXT_CHUNK"):
        Image.open(io.BytesIO(data))  # what the loader meets
    assert np.array_equal(load_image(data, "icc.png").pixels, pixels)
    assert decode_peak_bytes(data) > 0  # its header is read for the memory estimate too
    assert image_format(data) == "PNG"
    assert ImageFile.SAFEBLOCK == PngImagePlugin.MAX_TEXT_CHUNK  # Pillow's own, untouched
    # A profile Pillow takes is read as it always was.
    assert np.array_equal(load_image(png_with_icc(pixels, big_icc_profile(4096))).pixels, pixels)


def test_metadata_bombs_are_never_inflated():
    """hostile's text_bomb.png: a zTXt chunk inflating to 100 MB. Its pixels are read and the
    chunk is never inflated (under 8 MB of Python memory at the peak)."""
    (bomb,) = [k for k in HOSTILE if k.name == "text_bomb.png"]
    data = bomb.make()
    tracemalloc.start()
    try:
        pixels = load_image(data, "bomb.png").pixels
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert pixels.shape == (8, 8, 3) and peak < 8 * 2**20, peak
