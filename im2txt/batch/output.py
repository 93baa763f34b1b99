"""The output of a batch run: which images it already holds, new rows written exactly once.

Every finished image is one JSON line appended to the *journal* and flushed to disk before the
next batch is taken. For `.jsonl` the journal is the output itself; for `.csv` and `.parquet`
it is `OUT.journal.jsonl` beside it, turned into OUT (merged with the rows OUT already holds)
when every image is done, then removed. Only the driver writes, one batch at a time, so:
- a run stopped any way (Ctrl-C, a killed driver) keeps every row written before the stop; a
  line cut halfway by a kill has no newline and is dropped when the run is resumed, and that
  image is captioned again: no row is lost, none is written twice;
- rows already present are never written again (the driver skips names it holds, whatever a
  retried Ray task sends back).
`OUT.settings.json` records the model (SHA-256 of its files) and the decoding settings; a run
with other ones refuses to add to OUT rather than mix two kinds of captions in one file.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from im2txt.batch import formats
from im2txt.config import DecodeConfig
from im2txt.errors import Im2txtError

FORMATS = (".jsonl", ".csv", ".parquet")
SETTINGS_SUFFIX = ".settings.json"
JOURNAL_SUFFIX = ".journal.jsonl"


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """What decides the captions: the model's files and the decoding settings."""

    model_name: str
    model_sha256: str
    decode: DecodeConfig

    def to_dict(self) -> dict:
        return {
            "model": {"name": self.model_name, "sha256": self.model_sha256},
            "decode": dataclasses.asdict(self.decode),
        }


class Output:
    """One output file: open() says which images it holds; append() adds rows; finish()."""

    def __init__(self, path: str | Path, settings: RunSettings) -> None:
        self.path = Path(path)
        self.format = self.path.suffix.lower()
        if self.format not in FORMATS:
            raise Im2txtError(
                f"{self.path}: unknown output format {self.path.suffix or '(no extension)'!r}: "
                f"name it {', '.join('*' + f for f in FORMATS)}"
            )
        self.settings = settings
        self.settings_path = self.path.with_name(self.path.name + SETTINGS_SUFFIX)
        self.journal_path = (
            self.path
            if self.format == ".jsonl"
            else self.path.with_name(self.path.name + JOURNAL_SUFFIX)
        )
        self.done: set[str] = set()
        self._journal: BinaryIO | None = None
        self._journal_rows_at_open = 0

    def open(self) -> set[str]:
        """Check the settings, repair a cut last line, and return the names already done."""
        if not self.path.parent.is_dir():
            raise Im2txtError(f"{self.path}: folder {self.path.parent} does not exist")
        self._check_settings()
        if self.format != ".jsonl" and self.path.exists():
            self.done.update(formats.read_names(self.path))
        journal = _repair_and_read_journal(self.journal_path)
        self._journal_rows_at_open = len(journal)
        self.done.update(journal)
        self._journal = open(self.journal_path, "ab")  # noqa: SIM115 (closed by close())
        return set(self.done)

    def append(self, records: list[dict]) -> list[dict]:
        """Write the records of images not yet in the output, durably; returns those."""
        new = []
        for record in records:
            if record["image"] in self.done:
                continue  # a retried task's second answer, or a name given twice
            self.done.add(record["image"])
            new.append(record)
        if new:
            if self._journal is None:
                raise RuntimeError("Output.append before Output.open")
            lines = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in new)
            self._journal.write(lines.encode("utf-8"))
            self._journal.flush()
            os.fsync(self._journal.fileno())
        return new

    def rows_written(self) -> int:
        """Rows this Output has written to disk since open(), counted in the file (exact even
        when the count kept in memory was cut short by an interrupt)."""
        self.close()
        if not self.journal_path.exists():
            return 0
        with open(self.journal_path, "rb") as file:
            lines = sum(1 for line in file if line.endswith(b"\n"))
        return lines - self._journal_rows_at_open

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def finish(self) -> None:
        """For .csv/.parquet: write OUT from its old rows and the journal, then drop the journal."""
        self.close()
        if self.format == ".jsonl" or not self.journal_path.exists():
            return
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            formats.write(
                temporary, self.format, self._all_records(), self.settings.decode.beam_size
            )
            os.replace(temporary, self.path)
        finally:
            temporary.unlink(missing_ok=True)
        # A stop here leaves rows in both files: the next run's merge drops the repeats.
        self.journal_path.unlink()

    def _all_records(self) -> Iterator[dict]:
        seen: set[str] = set()
        old = formats.read_records(self.path) if self.path.exists() else iter(())
        for record in itertools.chain(old, _journal_records(self.journal_path)):
            if record["image"] not in seen:
                seen.add(record["image"])
                yield record

    def _check_settings(self) -> None:
        wanted = self.settings.to_dict()
        if self.settings_path.exists():
            try:
                stored = json.loads(self.settings_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise Im2txtError(f"{self.settings_path}: cannot read ({e})") from None
            if stored != wanted:
                raise Im2txtError(
                    f"{self.path} holds captions made with {_describe(stored)}, this run uses "
                    f"{_describe(wanted)}: give another --out, or delete {self.path.name} and "
                    f"{self.settings_path.name} to start again"
                )
            return
        if self.path.exists() or self.journal_path.exists():
            raise Im2txtError(
                f"{self.path} exists but {self.settings_path.name} does not, so it was not "
                "written by `batch` (or its record was deleted): give another --out"
            )
        temporary = self.settings_path.with_name(self.settings_path.name + ".tmp")
        temporary.write_text(json.dumps(wanted, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, self.settings_path)


def _describe(settings: dict) -> str:
    try:
        model, decode = settings["model"], settings["decode"]
        return (
            f"model {model['name']} (sha256 {model['sha256'][:12]}), beam size "
            f"{decode['beam_size']}, max length {decode['max_caption_length']}, length "
            f"normalization {decode['length_normalization_factor']}"
        )
    except (KeyError, TypeError):
        return "unknown settings"


def _repair_and_read_journal(path: Path) -> set[str]:
    """Names in a journal; a last line without its newline (cut by a kill) is cut off."""
    if not path.exists():
        return set()
    names: set[str] = set()
    complete = 0
    with open(path, "rb+") as file:
        for number, line in enumerate(file, start=1):
            if not line.endswith(b"\n"):
                break
            names.add(_parse(line, path, number)["image"])
            complete += len(line)
        if file.seek(0, os.SEEK_END) != complete:
            file.truncate(complete)
    return names


def _journal_records(path: Path) -> Iterator[dict]:
    if not path.exists():
        return
    with open(path, "rb") as file:
        for number, line in enumerate(file, start=1):
            yield _parse(line, path, number)


def _parse(line: bytes, path: Path, number: int) -> dict:
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("image"), str):
        raise Im2txtError(f"{path}: line {number} is not a row written by `batch`")
    return record
