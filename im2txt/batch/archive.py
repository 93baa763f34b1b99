"""caption_archive: INPUTs -> the output file, captioning only the images it does not hold yet."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from im2txt.batch.cluster import check_ray
from im2txt.batch.inputs import expand_inputs
from im2txt.batch.job import run_job
from im2txt.batch.model_package import pack_model
from im2txt.batch.output import Output, RunSettings
from im2txt.batch.values import JobOptions, JobPlan
from im2txt.config import DecodeConfig
from im2txt.errors import Im2txtError
from im2txt.progress import ImageProgress


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run: what it wrote is kept (run again to go on)."""

    def __init__(self, written: int, total: int) -> None:
        super().__init__(f"{written} of {total} images written")
        self.written = written
        self.total = total


@dataclass(frozen=True)
class BatchSummary:
    """What one run did."""

    # Distinct images the inputs name.
    images: int
    # Of those, already in the output before this run (skipped).
    skipped: int
    # Rows this run wrote (captions or errors).
    written: int
    # Of those, error rows.
    errors: int
    # Wall time of the run, Ray's start and the model loads included.
    seconds: float
    # From the start of the run to its first row (Ray's start, the workers' model loads).
    startup_seconds: float

    @property
    def images_per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0


def caption_archive(
    inputs: Sequence[str],
    out: str | Path,
    model: str | Path | None = None,
    decode: DecodeConfig | None = None,
    options: JobOptions | None = None,
    on_plan: Callable[[JobPlan], None] | None = None,
    progress: ImageProgress | None = None,
) -> BatchSummary:
    """Caption every image `inputs` name into `out` (.jsonl, .csv or .parquet) on Ray.

    Re-running with the same `out` skips images already there (same model and settings, or
    Im2txtError); a stopped run keeps what it wrote (Ctrl-C: BatchInterrupted says how much).
    """
    started = time.perf_counter()
    decode = decode or DecodeConfig()
    options = options or JobOptions()
    check_ray()  # before anything is written
    names = expand_inputs(inputs)
    if not names:
        raise Im2txtError(f"no image files in {', '.join(inputs)}")
    package = pack_model(model)
    output = Output(out, RunSettings(package.name, package.sha256, decode))
    done = output.open()
    todo = [name for name in names if name not in done]
    counts = _Counts()

    def on_records(records: list[dict]) -> None:
        new = output.append(records)
        if counts.first is None:
            counts.first = time.perf_counter()
        counts.written += len(new)
        counts.errors += sum("error" in record for record in new)
        if progress:
            progress(counts.written, len(todo))

    try:
        if todo:
            run_job(todo, package, decode, options, on_plan or (lambda plan: None), on_records)
    except KeyboardInterrupt:
        raise BatchInterrupted(output.rows_written(), len(todo)) from None
    finally:
        output.close()
    if counts.written < len(todo):
        raise Im2txtError(
            f"the job ended with {len(todo) - counts.written} of {len(todo)} images "
            "unwritten; run the same command again to finish"
        )
    output.finish()
    ended = time.perf_counter()
    return BatchSummary(
        images=len(names),
        skipped=len(names) - len(todo),
        written=counts.written,
        errors=counts.errors,
        seconds=ended - started,
        startup_seconds=(counts.first or ended) - started,
    )


@dataclass
class _Counts:
    """What a run has written so far, and when its first rows came."""

    written: int = 0
    errors: int = 0
    first: float | None = None
