"""Converting any loadable model (original checkpoint or bundle) into a new bundle folder."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np

from im2txt.config import ModelInfo
from im2txt.errors import ModelError
from im2txt.storage.bundle import DTYPES, write_bundle
from im2txt.storage.model_files import read_model
from im2txt.weights import weight_shapes


def convert_model(
    src: str | Path, dst: str | Path, dtype: str = "float32", vocab: str | Path | None = None
) -> ModelInfo:
    """Any loadable model (an original checkpoint, or a bundle) -> a new bundle folder `dst`.

    `dst` must not exist or be an empty folder. The bundle is written beside it and renamed into
    place, so `dst` appears complete or not at all. `vocab` overrides the word_counts.txt found
    beside the source. Returns the written bundle's info.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    src, dst = Path(src), Path(dst)
    if dst.exists() and not (dst.is_dir() and not any(dst.iterdir())):
        raise ModelError(f"{dst}: already exists and is not empty; convert into a new folder")
    files = read_model(src, vocab)
    config, weights, vocab_path = files.config, files.weights, files.vocab_path
    if files.format == "bundle":
        info = replace(files.info, name=_with_dtype(files.info.name, dtype))
    else:
        prefix = Path(files.info.source)
        info = replace(
            files.info,
            name=f"im2txt COCO ({prefix.name}, {dtype})",
            description=f"The original Show and Tell model, converted from the TF1 checkpoint "
            f"{prefix.name}; weights stored as {dtype}.",
        )
    expected = weight_shapes(config)
    missing = sorted(set(expected) - set(weights))
    if missing:
        raise ModelError(f"{src}: {len(missing)} weights missing ({', '.join(missing[:4])})")
    dst.parent.mkdir(parents=True, exist_ok=True)
    # A hidden staging folder beside dst (same filesystem: the last step is a rename). The bundle
    # is one level inside it, so model discovery never mistakes a half-written one for a model.
    staging = Path(tempfile.mkdtemp(prefix=f".{dst.name}-convert-", dir=dst.parent))
    try:
        written = staging / "bundle"
        write_bundle(written, config, _Selected(src, weights, expected), vocab_path, info, dtype)
        if dst.exists():
            dst.rmdir()  # empty, checked above
        written.rename(dst)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return replace(info, dtype=dtype)


class _Selected(Mapping[str, np.ndarray]):
    """The model's weights of a (lazy) mapping, in the model's order, shape-checked on access."""

    def __init__(
        self, source: Path, weights: Mapping[str, np.ndarray], shapes: dict[str, tuple[int, ...]]
    ) -> None:
        self._source = source
        self._weights = weights
        self._shapes = shapes

    def __getitem__(self, name: str) -> np.ndarray:
        value = self._weights[name]
        if value.shape != self._shapes[name]:
            shape, expected = list(value.shape), list(self._shapes[name])
            raise ModelError(f"{self._source}: {name} is {shape}, expected {expected}")
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._shapes)

    def __len__(self) -> int:
        return len(self._shapes)


def _with_dtype(name: str, dtype: str) -> str:
    """The name with its dtype: "im2txt COCO (model.ckpt-2000000, float32)" -> "..., float16)"."""
    match = re.fullmatch(r"(.*[(,] ?)(float16|float32)\)", name)
    if match:
        return f"{match.group(1)}{dtype})"
    return f"{name[:-1]}, {dtype})" if name.endswith(")") else f"{name} ({dtype})"
