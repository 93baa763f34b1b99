"""Finding the models on disk: COCO checkpoints and bundles in the models folder, and the demo."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from im2txt.errors import ModelError
from im2txt.storage import bundle, locations
from im2txt.storage.checkpoint import chosen_checkpoint, find_checkpoint_prefixes
from im2txt.storage.locations import COCO_FOLDER, DEMO_FOLDER, model_root
from im2txt.vocabulary import VOCAB_NAME


@dataclass(frozen=True)
class FoundModel:
    """A model on disk, usable or not."""

    # A bundle folder, or a checkpoint prefix (.../model.ckpt-2000000).
    path: Path
    # "checkpoint" (original TF1 files) or "bundle" (the project's own format).
    format: str
    # For people: "COCO checkpoint model.ckpt-2000000", "demo model", ...
    label: str
    # The vocabulary that goes with it.
    vocab: Path | None
    # Why it cannot be loaded, or None when it looks complete.
    problem: str | None = None
    # "demo" for the shipped demo model; "coco" for anything else (the original model's family).
    kind: str = "coco"

    @property
    def usable(self) -> bool:
        return self.problem is None


def find_models(root: str | Path | None = None) -> list[FoundModel]:
    """Every model under root (default: the models folder), then the shipped demo model unless
    root's demo/ holds a model, in the order the default-model lookup prefers them."""
    root = Path(root) if root is not None else model_root()
    folders = []
    if root.is_dir():
        folders = [root / COCO_FOLDER, root]
        # An unreadable models folder: the pages still work, with the demo model.
        with suppress(OSError):
            folders += sorted(
                p for p in root.iterdir() if p.is_dir() and p.name not in (COCO_FOLDER, DEMO_FOLDER)
            )
    folders.append(root / DEMO_FOLDER)
    found = [model for folder in folders if (model := inspect_folder(folder)) is not None]
    if not any(model.path == root / DEMO_FOLDER for model in found):
        shipped = inspect_folder(locations.SHIPPED_DEMO)
        if shipped is not None:
            found.append(shipped)
    return found


def inspect_folder(folder: Path) -> FoundModel | None:
    """The model in one folder (a bundle or the checkpoint it names), or None if there is none."""
    if not folder.is_dir():
        return None
    kind = "demo" if folder.name == DEMO_FOLDER else "coco"
    if bundle.is_bundle(folder):
        vocab = folder / bundle.VOCAB_FILE
        problem = None
        try:
            _, info = bundle.read_bundle_meta(folder)
            label, kind = info.name, info.kind
        except ModelError as e:
            label, problem = f"model in {folder.name}/", str(e)
        if problem is None and not (folder / bundle.WEIGHTS_FILE).is_file():
            problem = f"{folder}: {bundle.WEIGHTS_FILE} is missing"
        if problem is None and not vocab.is_file():
            problem = f"{folder}: {VOCAB_NAME} is missing"
        return FoundModel(folder, "bundle", label, vocab, problem, kind)
    prefixes = find_checkpoint_prefixes(folder)
    if prefixes:
        prefix = chosen_checkpoint(folder, prefixes) or prefixes[-1]
        vocab = folder / VOCAB_NAME
        problem = None
        if not vocab.is_file():
            problem = (
                f"{folder}: {VOCAB_NAME} is missing "
                "(it must be the one the checkpoint was trained with)"
            )
        return FoundModel(prefix, "checkpoint", f"COCO checkpoint {prefix.name}", vocab, problem)
    orphans = sorted(p.name for p in folder.glob("*.index"))
    if orphans:
        return FoundModel(
            folder / orphans[0][: -len(".index")],
            "checkpoint",
            f"incomplete checkpoint {orphans[0][: -len('.index')]}",
            None,
            f"{folder}: {orphans[0]} has no .data-00000-of-00001 file beside it",
        )
    return None


def skipped_models(root: str | Path | None = None) -> list[FoundModel]:
    """Models found before the default one that cannot be used (an incomplete coco/, say): what
    to tell people when the default falls back to a model they did not mean."""
    skipped = []
    for model in find_models(root):
        if model.usable:
            break
        skipped.append(model)
    return skipped


def default_model(root: str | Path | None = None) -> FoundModel:
    """The model load_captioner() uses when given no path; ModelError if there is none."""
    root = Path(root) if root is not None else model_root()
    found = find_models(root)
    for model in found:
        if model.usable:
            return model
    if found:
        raise ModelError(f"no usable model: {found[0].problem}")
    raise ModelError(
        f"no model in {root}: put an im2txt checkpoint (model.ckpt-NNN.index, "
        f".data-00000-of-00001 and {VOCAB_NAME}) in {root / COCO_FOLDER}"
    )
