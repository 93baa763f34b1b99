"""Original TF1 im2txt checkpoints -> model weights, through one name table with shape checks.

Accepts a checkpoint prefix (``.../model.ckpt-2000000``), a path to its ``.index`` or ``.data``
file, or a folder holding one (with or without the ``checkpoint`` state file). Only the
``.index`` and ``.data-*`` files are read; the ``.meta`` graph is never needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from im2txt.config import ModelConfig
from im2txt.errors import ModelError
from im2txt.weights import weight_shapes

# Checkpoint tensor name -> model weight name, for every name that is not spelt the same in the
# model. Only the LSTM changed names across TensorFlow versions; shapes and layout never did.
LSTM_ALIASES: dict[str, str] = {
    "lstm/BasicLSTMCell/Linear/Matrix": "lstm/basic_lstm_cell/kernel",  # TF <= 0.12
    "lstm/BasicLSTMCell/Linear/Bias": "lstm/basic_lstm_cell/bias",
    "lstm/basic_lstm_cell/weights": "lstm/basic_lstm_cell/kernel",  # TF 1.0 - 1.1
    "lstm/basic_lstm_cell/biases": "lstm/basic_lstm_cell/bias",
    # TF >= 1.2 writes lstm/basic_lstm_cell/{kernel,bias}: the model's own names.
}
# Tensors of a training checkpoint that are not weights: read, recognised, not used.
BOOKKEEPING = frozenset({"global_step"})

_DATA_SUFFIX = re.compile(r"\.data-\d{5}-of-\d{5}$")
_STEP = re.compile(r"-(\d+)$")


def checkpoint_prefix(path: str | Path) -> Path:
    """The checkpoint prefix a user means by `path`, or ModelError saying what was found there."""
    path = Path(path)
    text = str(path)
    if text.endswith(".index") or text.endswith(".meta"):
        path = Path(text.rsplit(".", 1)[0])
    elif _DATA_SUFFIX.search(text):
        path = Path(_DATA_SUFFIX.sub("", text))
    if path.is_dir():
        found = find_checkpoint_prefixes(path)
        if not found:
            raise ModelError(f"{path}: no checkpoint in this folder ({describe_folder(path)})")
        chosen = chosen_checkpoint(path, found)
        return chosen if chosen is not None else found[-1]
    if Path(f"{path}.index").is_file():
        if not any(path.parent.glob(f"{path.name}.data-*")):
            raise ModelError(f"{path}: checkpoint has an .index but no .data-00000-of-00001 file")
        return path
    if not path.parent.is_dir():
        raise ModelError(f"{path}: no such file or folder")
    raise ModelError(f"{path}: no checkpoint here (expected {path.name}.index)")


def find_checkpoint_prefixes(folder: Path) -> list[Path]:
    """Complete checkpoints (.index with its .data) in a folder, lowest training step first."""
    prefixes = []
    for index in folder.glob("*.index"):
        prefix = index.with_suffix("")
        if any(folder.glob(f"{prefix.name}.data-*")):
            prefixes.append(prefix)
    return sorted(prefixes, key=lambda p: (_step(p), p.name))


def describe_folder(folder: Path, limit: int = 6) -> str:
    try:
        names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    except OSError as e:
        return f"cannot list it: {e.strerror}"
    if not names:
        return "it is empty"
    listed = ", ".join(names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"found {listed}{more}"


def read_checkpoint(prefix: str | Path) -> tuple[ModelConfig, Mapping[str, np.ndarray]]:
    """An original im2txt checkpoint -> (config inferred from its shapes, weights by model name)."""
    import tensorflow as tf

    prefix = checkpoint_prefix(prefix)
    try:
        reader = tf.train.load_checkpoint(str(prefix))
        stored = reader.get_variable_to_shape_map()
    except Exception as e:  # DataLossError, NotFoundError, ... from the C++ reader
        raise ModelError(f"{prefix}: cannot read checkpoint ({_first_line(e)})") from None
    names, config = _names_and_config(prefix, stored)
    expected = weight_shapes(config)
    missing = sorted(set(expected) - set(names))
    wrong = sorted(
        f"{names[n]} is {list(stored[names[n]])}, expected {list(expected[n])}"
        for n in expected
        if n in names and tuple(stored[names[n]]) != expected[n]
    )
    if missing or wrong:
        problems = []
        if missing:
            problems.append(f"{len(missing)} missing ({_some(missing)})")
        if wrong:
            problems.append(f"{len(wrong)} mis-shaped ({_some(wrong)})")
        raise ModelError(f"{prefix}: not an im2txt checkpoint: {'; '.join(problems)}")
    return config, CheckpointWeights(prefix, reader, {n: names[n] for n in expected})


class CheckpointWeights(Mapping[str, np.ndarray]):
    """Model weight name -> array, read from the checkpoint file only when asked for, so that
    building the model never holds the whole checkpoint in memory next to its variables."""

    def __init__(self, prefix: Path, reader, names: dict[str, str]) -> None:
        self._prefix = prefix
        self._reader = reader
        self._names = names  # model weight name -> checkpoint tensor name

    def __getitem__(self, name: str) -> np.ndarray:
        stored = self._names[name]
        try:
            return self._reader.get_tensor(stored)
        except Exception as e:  # DataLossError on a truncated .data file
            raise ModelError(f"{self._prefix}: cannot read {stored} ({_first_line(e)})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def unused_tensors(prefix: str | Path) -> list[str]:
    """Tensors of a checkpoint the model does not use (optimizer slots, counters, ...)."""
    import tensorflow as tf

    stored = dict(tf.train.list_variables(str(checkpoint_prefix(prefix))))
    names, config = _names_and_config(prefix, stored)
    expected = weight_shapes(config)
    return sorted(c for n, c in names.items() if n not in expected)


def read_unused_tensors(prefix: str | Path) -> None:
    """Read every tensor the model does not use (global_step, optimizer slots): TensorFlow checks
    each one's CRC32C against the index, so damage anywhere in the .data file is found."""
    import tensorflow as tf

    prefix = checkpoint_prefix(prefix)
    reader = tf.train.load_checkpoint(str(prefix))
    for name in unused_tensors(prefix):
        try:
            reader.get_tensor(name)
        except Exception as e:  # DataLossError
            raise ModelError(f"{prefix}: cannot read {name} ({_first_line(e)})") from None


def _names_and_config(prefix, stored) -> tuple[dict[str, str], ModelConfig]:
    """Model weight name -> checkpoint name, and the config the stored shapes imply."""
    names = _model_names(prefix, stored)
    return names, _config_from_shapes({n: tuple(stored[c]) for n, c in names.items()})


def _model_names(prefix: Path | str, stored) -> dict[str, str]:
    """Model weight name -> checkpoint tensor name; two tensors for one weight is an error."""
    names: dict[str, str] = {}
    for name in sorted(stored):
        model_name = LSTM_ALIASES.get(name, name)
        if model_name in names:
            raise ModelError(
                f"{prefix}: both {names[model_name]} and {name} are in the checkpoint; "
                "they are the same weight under two TensorFlow versions' names"
            )
        names[model_name] = name
    return names


def _config_from_shapes(shapes: dict[str, tuple[int, ...]]) -> ModelConfig:
    """The original ModelConfig with the sizes a checkpoint actually has (vocab_size may differ)."""
    config = ModelConfig()
    logits = shapes.get("logits/weights")
    embedding = shapes.get("image_embedding/weights")
    if logits is None or embedding is None or len(logits) != 2 or len(embedding) != 2:
        return config  # the full check reports what is missing
    return ModelConfig(num_lstm_units=logits[0], vocab_size=logits[1], embedding_size=embedding[1])


def chosen_checkpoint(folder: Path, found: list[Path]) -> Path | None:
    """The checkpoint named by the folder's `checkpoint` state file, when it exists there."""
    state = folder / "checkpoint"
    try:
        text = state.read_text(errors="replace") if state.is_file() else ""
    except OSError:  # unreadable: the folder's other checkpoints still count
        return None
    match = re.search(r'^model_checkpoint_path:\s*"(.*)"', text, re.M)
    if not match:
        return None
    # The state file often holds an absolute path from the trainer's machine: use the name only.
    named = folder / Path(match.group(1)).name
    return named if named in found else None


def _step(prefix: Path) -> int:
    match = _STEP.search(prefix.name)
    return int(match.group(1)) if match else -1


def _some(items: list[str], limit: int = 4) -> str:
    more = f", ... {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _first_line(error: Exception) -> str:
    text = str(getattr(error, "message", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
