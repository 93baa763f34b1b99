"""A clip's colour metadata: what ffmpeg prints for its pixel format -> the filters and frame tags
that keep its colours through decoding to 8-bit limited-range yuv420p and encoding.

ffmpeg prints a video stream's pixel format as e.g. "yuv420p(tv, bt709, progressive)",
"gbrp(pc, gbr/unknown/unknown, progressive)" or "yuv420p10le(progressive)": the range, then the
matrix, primaries and transfer (one name when all three are the same). Not every printed name can
tag yuv420p ("gbr" is RGB), and swscale converts with only some matrices. So:

- the render's decode ends in `scale=...:out_range=tv` to the matrix the output is tagged with: the
  input's own when swscale knows it (its pixels are then only resampled), else BT.709 for RGB
  input (converted by swscale) and untagged for YUV whose matrix is unknown (left as it is);
- a matrix swscale cannot read (YCgCo, ICtCp, ...) is read as BT.709: approximate colours rather
  than no picture;
- primaries and transfer are passed on when known, else dropped; the encoder's frames are tagged
  with all of it (see tag_filter).
"""

from __future__ import annotations

import re

# Matrices swscale converts from and to: ffmpeg's printed name -> the scale filter's name.
_SWSCALE_MATRICES = {
    "bt709": "bt709",
    "fcc": "fcc",
    "bt470bg": "bt470",
    "smpte170m": "smpte170m",
    "smpte240m": "smpte240m",
    "bt2020nc": "bt2020",
}
# Printed primaries names setparams takes.
_PRIMARIES = frozenset(
    [
        "bt709",
        "bt470m",
        "bt470bg",
        "smpte170m",
        "smpte240m",
        "film",
        "bt2020",
        "smpte428",
        "smpte431",
        "smpte432",
        "jedec-p22",
        "ebu3213",
    ]
)
# Printed transfer name -> the encoder's -color_trc name.
_TRANSFERS = {
    name: name
    for name in [
        "bt709",
        "smpte170m",
        "smpte240m",
        "linear",
        "log100",
        "log316",
        "iec61966-2-4",
        "bt1361e",
        "iec61966-2-1",
        "bt2020-10",
        "bt2020-12",
        "smpte2084",
        "smpte428",
        "arib-std-b67",
    ]
} | {"bt470m": "gamma22", "bt470bg": "gamma28"}
_RGB_FORMAT = re.compile(r"^(gbr|rgb|bgr|argb|abgr|0rgb|0bgr|x2rgb|x2bgr|pal8)")
_SAME_FOR_ALL = re.compile(r"bt709|bt470bg|smpte170m|smpte240m")
_UNSET = frozenset({"unknown", "reserved", "unspecified"})


def colour_fields(pixel_format: str) -> tuple[str, str, str]:
    """(matrix, primaries, transfer) as ffmpeg printed them; "" for what it did not print."""
    inside = re.search(r"\((.*)\)", pixel_format)
    for token in inside.group(1).split(", ") if inside else []:
        names = token.split("/")
        if len(names) == 3:
            return names[0], names[1], names[2]
        if _SAME_FOR_ALL.fullmatch(token):  # printed once when all three are the same
            return token, token, token
    return "", "", ""


def is_rgb(pixel_format: str) -> bool:
    return bool(_RGB_FORMAT.match(pixel_format)) or colour_fields(pixel_format)[0] == "gbr"


def output_matrix(pixel_format: str) -> str | None:
    """The matrix (printed name) of the rendered yuv420p: None when it stays unknown."""
    matrix = colour_fields(pixel_format)[0]
    if matrix in _SWSCALE_MATRICES:
        return matrix
    if is_rgb(pixel_format) or (matrix and matrix not in _UNSET):
        return "bt709"
    return None


def input_filters(pixel_format: str) -> list[str]:
    """Filters that go first when decoding: a matrix swscale cannot read is read as BT.709."""
    matrix = colour_fields(pixel_format)[0]
    if matrix and matrix != "gbr" and matrix not in _SWSCALE_MATRICES and matrix not in _UNSET:
        return ["setparams=colorspace=bt709"]
    return []


def yuv420p_filter(pixel_format: str) -> str:
    """The render's last filter: 8-bit limited-range 4:2:0 in the output's matrix."""
    matrix = output_matrix(pixel_format)
    to = f"out_color_matrix={_SWSCALE_MATRICES[matrix]}:" if matrix else ""
    return f"scale={to}out_range=tv,format=yuv420p"


def tag_filter(pixel_format: str) -> str:
    """The encoder's filter tagging its frames with the colours the render filters produced.

    Tags on the frames, not the encoder's -colorspace options: given options that differ from
    its (untagged, raw) input frames, ffmpeg converts the frames to them, which moved saturated
    colours by 15-20 levels.
    """
    tags = ["range=tv"]
    matrix = output_matrix(pixel_format)
    if matrix is not None:
        tags.append(f"colorspace={matrix}")
        _, primaries, transfer = colour_fields(pixel_format)
        if is_rgb(pixel_format) and primaries in _UNSET | {"", "gbr"}:
            primaries, transfer = "bt709", "iec61966-2-1"  # untagged RGB is sRGB
        if primaries in _PRIMARIES:
            tags.append(f"color_primaries={primaries}")
        if transfer in _TRANSFERS:
            tags.append(f"color_trc={transfer}")
    return "setparams=" + ":".join(tags)
