"""A model's files as bytes: what the driver puts in Ray's object store for the workers.

A cluster's nodes need not share a disk: the driver reads the model's files once (a checkpoint's
.index/.data and word_counts.txt, or a bundle's config.json, weights.npz and vocabulary), the
object store carries them to every node that runs a worker, and each worker writes them to a
temporary folder and loads it with load_captioner. No TensorFlow here: the driver only reads
files; the workers build the network.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from im2txt.errors import ModelError
from im2txt.storage import bundle, checkpoint, discovery
from im2txt.vocabulary import VOCAB_NAME


@dataclass(frozen=True)
class ModelPackage:
    """The files of one model, ready to travel."""

    # File name -> content; unpacked side by side into one folder.
    files: dict[str, bytes]
    # For people: "im2txt demo (generated shapes)", "COCO checkpoint model.ckpt-2000000".
    name: str
    # SHA-256 over the file names and contents: the model's identity for resuming a run.
    sha256: str
    # Where it was read from: a bundle folder or a checkpoint prefix.
    source: str

    @property
    def folder(self) -> str:
        """The folder the files were read from (messages about the copy name it)."""
        path = Path(self.source)
        return str(path if path.is_dir() else path.parent)

    @property
    def size(self) -> int:
        return sum(len(content) for content in self.files.values())


def pack_model(path: str | Path | None = None) -> ModelPackage:
    """Read the model at `path` (a bundle folder, a checkpoint folder or prefix; None: the default
    model, as load_captioner) into a package; ModelError naming what is missing."""
    if path is None:
        path = discovery.default_model().path
    path = Path(path)
    if path.is_dir() and bundle.is_bundle(path):
        _, info = bundle.read_bundle_meta(path)
        names = {name: path / name for name in (bundle.CONFIG_FILE, bundle.WEIGHTS_FILE)}
        names[VOCAB_NAME] = path / bundle.VOCAB_FILE
        label, source = info.name, path
    else:
        prefix = checkpoint.checkpoint_prefix(path)
        names = {p.name: p for p in sorted(prefix.parent.glob(f"{prefix.name}.data-*"))}
        names[f"{prefix.name}.index"] = Path(f"{prefix}.index")
        names[VOCAB_NAME] = _vocab_beside(prefix)
        label, source = f"COCO checkpoint {prefix.name}", prefix
    files = {}
    digest = hashlib.sha256()
    for name in sorted(names):
        try:
            files[name] = names[name].read_bytes()
        except OSError as e:
            raise ModelError(f"{names[name]}: cannot read ({e.strerror})") from None
        digest.update(f"{name}\0{len(files[name])}\0".encode())
        digest.update(files[name])
    return ModelPackage(files, label, digest.hexdigest(), str(source))


def unpack_model(package_files: dict[str, bytes], folder: Path) -> Path:
    """Write the files into `folder` (created); the folder to give load_captioner."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in package_files.items():
        (folder / Path(name).name).write_bytes(content)
    return folder


def _vocab_beside(prefix: Path) -> Path:
    """The checkpoint's word_counts.txt, where load_captioner looks: beside it or one folder up."""
    for folder in (prefix.parent, prefix.parent.parent):
        if (folder / VOCAB_NAME).is_file():
            return folder / VOCAB_NAME
    raise ModelError(
        f"{prefix}: no {VOCAB_NAME} beside the checkpoint; put the vocabulary it was trained "
        "with there"
    )
