"""The project's own model folder: config.json + weights.npz + word_counts.txt (+ README.md).

One numpy archive, read without TensorFlow's checkpoint reader, as fast as a TF1 checkpoint and
with a lower peak memory (bench/bench_load.py); float16 weights put the COCO model under GitHub's
100 MB file limit.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np

from im2txt.config import ModelConfig, ModelInfo
from im2txt.errors import ModelError
from im2txt.vocabulary import VOCAB_NAME

FORMAT = "im2txt-bundle"
VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.npz"
VOCAB_FILE = VOCAB_NAME
DTYPES = ("float32", "float16")


def is_bundle(folder: str | Path) -> bool:
    return (Path(folder) / CONFIG_FILE).is_file()


def read_bundle(folder: str | Path) -> tuple[ModelConfig, Mapping[str, np.ndarray], ModelInfo]:
    """(config, float32 weights by name, info) of a bundle folder; ModelError on any problem.

    The weights are read lazily, one array per access (see BundleWeights).
    """
    folder = Path(folder)
    config, info = read_bundle_meta(folder)
    weights_path = folder / WEIGHTS_FILE
    if not weights_path.is_file():
        raise ModelError(f"{folder}: {WEIGHTS_FILE} is missing")
    if not zipfile.is_zipfile(weights_path):  # np.load would try it as a pickle
        raise ModelError(f"{weights_path}: cannot read weights (not a complete .npz archive)")
    try:
        archive = np.load(weights_path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ModelError(f"{weights_path}: cannot read weights ({e})") from None
    return config, BundleWeights(weights_path, archive), info


class BundleWeights(Mapping[str, np.ndarray]):
    """Weight name -> float32 array, read from weights.npz only when asked for (float16 widened
    then), so that building the model never holds the whole file in memory next to its variables.
    Each read is checked against the archive's CRC-32, so a damaged file fails here, by name."""

    def __init__(self, path: Path, archive: np.lib.npyio.NpzFile) -> None:
        self._path = path
        self._archive = archive
        self._names = frozenset(archive.files)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._names:
            raise KeyError(name)
        try:
            value = self._archive[name]
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
            raise ModelError(f"{self._path}: cannot read {name} ({e})") from None
        return value.astype(np.float32, copy=False)

    def __iter__(self) -> Iterator[str]:
        return iter(self._archive.files)

    def __len__(self) -> int:
        return len(self._names)

    def close(self) -> None:
        self._archive.close()


def read_bundle_meta(folder: str | Path) -> tuple[ModelConfig, ModelInfo]:
    """Config and info from config.json alone (no weights read); vocab_size is the softmax width."""
    folder = Path(folder)
    path = folder / CONFIG_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{folder}: no {CONFIG_FILE} (not a converted model)") from None
    except (OSError, ValueError) as e:
        raise ModelError(f"{path}: cannot read ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f'{path}: not an {FORMAT} config ("format" is {meta.get("format")!r})')
    version = meta.get("version", 0)
    if not isinstance(version, int):
        raise ModelError(f"{path}: bad format version {version!r}")
    if version > VERSION:
        raise ModelError(f"{path}: made by a newer im2txt (format version {version})")
    try:
        config = ModelConfig.from_dict(meta["model"])
        info = ModelInfo(
            name=meta.get("name", folder.name),
            kind=meta.get("kind", "custom"),
            origin=meta.get("origin", str(folder)),
            vocab_size=config.vocab_size,
            dtype=meta.get("dtype", "float32"),
            description=meta.get("description", ""),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ModelError(f"{path}: bad model config ({e})") from None
    return config, info


def write_bundle(
    folder: str | Path,
    config: ModelConfig,
    weights: Mapping[str, np.ndarray],
    vocab_file: str | Path,
    info: ModelInfo,
    dtype: str = "float32",
) -> None:
    """Write a bundle folder (created if needed; existing bundle files are replaced).

    Weights are cast and written one at a time, so a lazy mapping is never read whole. A float16
    bundle refuses weights beyond float16's range (+-65504) rather than storing infinities.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # What np.savez writes (one .npy per weight in an uncompressed zip), an array at a time.
    with zipfile.ZipFile(folder / WEIGHTS_FILE, "w", zipfile.ZIP_STORED, allowZip64=True) as out:
        for name, value in weights.items():
            array = _cast(name, np.asarray(value), dtype)
            with out.open(f"{name}.npy", "w", force_zip64=True) as file:
                np.lib.format.write_array(file, array, allow_pickle=False)
            del array
    if Path(vocab_file).resolve() != (folder / VOCAB_FILE).resolve():
        shutil.copyfile(vocab_file, folder / VOCAB_FILE)
    info = replace(info, dtype=dtype)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "name": info.name,
        "kind": info.kind,
        "origin": info.origin,
        "description": info.description,
        "dtype": dtype,
        "model": config.to_dict(),
    }
    (folder / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def _cast(name: str, value: np.ndarray, dtype: str) -> np.ndarray:
    with np.errstate(over="ignore"):  # overflow is reported below, by name
        cast = value.astype(dtype)
    if dtype == "float16":
        overflow = np.isinf(cast) & ~np.isinf(value)
        if overflow.any():
            largest = float(np.abs(value[overflow]).max())
            raise ModelError(
                f"{name}: holds {largest:g}, beyond float16's range (+-65504); "
                "keep this model in float32"
            )
    return cast
