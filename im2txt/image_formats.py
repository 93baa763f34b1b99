"""Which image files the library reads, derived from the decoders installed, and what it says
about the pictures it does not read.

The formats read are Pillow's, each with a decoder behind its opener, and HEIC/HEIF (what iPhones
save) through pillow-heif, whose opener importing this module registers with Pillow. That is a
process-wide change, made on purpose: every Image.open in the process, the app's previews and the
batch workers' too, then reads HEIC. AVIF is Pillow's own.

Some formats Pillow recognises are not read:
- EPS: Pillow renders it by running Ghostscript on the file, a program of the file's author; not
  something to run on strangers' uploads (and a drawing, not a photo, in any case);
- MPEG: Pillow reads only its header, and would hand over a black frame;
- BUFR, GRIB, HDF5 and WMF/EMF: stubs that identify a file without decoding it.
"""

from __future__ import annotations

import functools
import zlib

import pillow_heif
from PIL import Image, ImageFile

pillow_heif.register_heif_opener()

# What to do with a picture the library recognises but does not read, by Pillow's format name,
# or by SVG, PDF, JXL for files Pillow does not recognise at all.
_ADVICE = {
    "SVG": "an SVG drawing, not a photo; export it as PNG",
    "EPS": "a PostScript (EPS) drawing, not a photo; export it as PNG",
    "WMF": "a Windows metafile (WMF/EMF) drawing, not a photo; export it as PNG",
    "PDF": "a PDF document, not a photo; export the page as PNG or JPEG",
    "MPEG": "an MPEG video, not a photo; caption it as a video",
    "JXL": "a JPEG XL image, which cannot be read yet; save it as JPEG or PNG",
}
_NOT_READ = frozenset({"EPS", "MPEG"})
# Formats whose files Pillow opens through another format's opener (an MPO is a JPEG followed by
# more JPEGs: JPEG's opener tells them apart).
_OPENED_BY = {"MPO": "JPEG"}
# Suffixes of pictures not read that a folder walk still lists, so that each gets its line.
_NOT_READ_SUFFIXES = frozenset({".svg", ".svgz", ".eps", ".wmf", ".emf", ".jxl"})

_JXL_MAGIC = (b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 4096


@functools.cache
def readable_formats() -> frozenset[str]:
    """Pillow's names of the formats read (e.g. "JPEG", "HEIF", "JPEG2000")."""
    Image.init()
    opened = {
        name
        for name, (factory, _) in Image.OPEN.items()
        if name not in _NOT_READ
        and not (isinstance(factory, type) and issubclass(factory, ImageFile.StubImageFile))
    }
    return frozenset(opened | {name for name, by in _OPENED_BY.items() if by in opened})


@functools.cache
def readable_suffixes() -> frozenset[str]:
    """File suffixes of the formats read, lower case with their dot (".jpg", ".heic", ...)."""
    readable = readable_formats()
    return frozenset(s for s, name in Image.registered_extensions().items() if name in readable)


@functools.cache
def picture_suffixes() -> frozenset[str]:
    """The suffixes a folder walk lists: every format read, and the drawings and pictures not
    read (SVG, EPS, WMF/EMF, JPEG XL), each of which is then told what to do instead."""
    return readable_suffixes() | _NOT_READ_SUFFIXES


def is_picture_name(name: str) -> bool:
    """Whether a file name has one of picture_suffixes(), in any case."""
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in picture_suffixes()


def not_read_reason(data: bytes, format_name: str | None = None) -> str | None:
    """Why a file is not read and what to do instead, or None when it is not a picture this
    module knows. `format_name` is Pillow's name for it, None when Pillow does not know it."""
    if format_name is not None:
        if format_name in readable_formats():
            return None
        return _ADVICE.get(format_name, f"a {format_name} file, not an image this library reads")
    head = data[:_SNIFF_BYTES]
    if head.startswith(b"%PDF-"):
        return _ADVICE["PDF"]
    if head.startswith(_JXL_MAGIC):
        return _ADVICE["JXL"]
    if head.startswith(_GZIP_MAGIC):  # .svgz
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, _SNIFF_BYTES)
        except zlib.error:
            return None
    if _is_svg(head):
        return _ADVICE["SVG"]
    return None


def _is_svg(head: bytes) -> bool:
    """XML whose first element is <svg> (after any declaration, comments and doctype)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<?xml", b"<svg", b"<!--", b"<!doctype svg")) and b"<svg" in text
