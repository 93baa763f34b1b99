"""The project's own model folder: config.json + weights.npz + word_counts.txt (+ README.md).

Loads faster than a TF1 checkpoint (one numpy archive, no TensorFlow reader) and can store the
weights as float16, which puts the COCO model under GitHub's 100 MB file limit.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from im2txt.config import ModelConfig, ModelInfo
from im2txt.errors import ModelError

FORMAT = "im2txt-bundle"
VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.npz"
VOCAB_FILE = "word_counts.txt"
DTYPES = ("float32", "float16")


def is_bundle(folder: str | Path) -> bool:
    return (Path(folder) / CONFIG_FILE).is_file()


def read_bundle(folder: str | Path) -> tuple[ModelConfig, dict[str, np.ndarray], ModelInfo]:
    """(config, float32 weights by name, info) of a bundle folder; ModelError on any problem."""
    folder = Path(folder)
    config, info = read_bundle_meta(folder)
    weights_path = folder / WEIGHTS_FILE
    try:
        with np.load(weights_path, allow_pickle=False) as archive:
            weights = {name: archive[name].astype(np.float32, copy=False) for name in archive.files}
    except FileNotFoundError:
        raise ModelError(f"{folder}: {WEIGHTS_FILE} is missing") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ModelError(f"{weights_path}: cannot read weights ({e})") from None
    return config, weights, info


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
    if meta.get("version", 0) > VERSION:
        raise ModelError(f"{path}: made by a newer im2txt (format version {meta['version']})")
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
    weights: dict[str, np.ndarray],
    vocab_file: str | Path,
    info: ModelInfo,
    dtype: str = "float32",
) -> None:
    """Write a bundle folder (created if needed; existing bundle files are replaced)."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {name: np.asarray(value).astype(dtype) for name, value in weights.items()}
    np.savez(folder / WEIGHTS_FILE, **arrays)
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
