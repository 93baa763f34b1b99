"""A batch job's settings: JobOptions (what the caller asks), JobPlan (what the job runs with).

Value types: nothing here imports the rest of the package, so the job, the pipeline and the
Ray Client relay all take the one JobPlan whole.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BATCH_SIZE = 16
# Ray Data's own no-progress guard, shortened from its 30 minutes unless set in the environment.
STALL_ENV = "RAY_DATA_EXECUTION_NO_PROGRESS_TIMEOUT_S"
DEFAULT_STALL_SECONDS = 300.0


@dataclass(frozen=True)
class JobOptions:
    # None: an embedded Ray; else "auto", "HOST:PORT" or Ray Client's "ray://HOST:10001".
    address: str | None = None
    # Caption workers (actors, one model each); None: one per CPU of the cluster.
    workers: int | None = None
    # Images per call of a worker.
    batch_size: int = DEFAULT_BATCH_SIZE
    # A job in which nothing moves for this long is stopped and reported as stalled (workers
    # that cannot be placed wait silently otherwise). None: $RAY_DATA_EXECUTION_NO_PROGRESS_
    # TIMEOUT_S, else DEFAULT_STALL_SECONDS.
    stall_seconds: float | None = None
    # CPUs of the embedded Ray (None: the machine's).
    local_cpus: int | None = None
    # TensorFlow threads per worker; None: the whole CPUs of its share (at least one).
    worker_threads: int | None = None


@dataclass(frozen=True)
class JobPlan:
    """How the job runs: JobOptions with every choice made from the cluster's resources (by
    job.run_job). Shown to people, and passed whole to the pipeline."""

    # For people: "im2txt demo (generated shapes)", "COCO checkpoint model.ckpt-2000000".
    model: str
    images: int
    # For messages: "embedded Ray", "Ray cluster at ...".
    where: str
    nodes: int
    cpus: float
    workers: int
    cpus_per_worker: float
    threads_per_worker: int
    # Images per call of a worker (the pipeline gives a small job's workers a share each).
    batch_size: int
    # Nothing moving for this long stops the job (StalledJob).
    stall_seconds: float
    # The folder the model was read from (a worker's errors name it, not its copy).
    model_source: str
