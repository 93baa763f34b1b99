"""A batch job on Ray: where it runs, how it is laid out, and its rows handed to the caller.

The job connects (embedded Ray or a cluster), sizes the workers from the cluster's CPUs, puts
the model's files in the object store and streams the pipeline's rows (pipeline.py); over Ray
Client the pipeline runs on the cluster and its rows are relayed (client.py). Nothing here
writes files: the caller gets the rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from im2txt.batch import cluster
from im2txt.batch.model_package import ModelPackage
from im2txt.config import DecodeConfig

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
    """How the job was laid out on the cluster, for people."""

    model: str
    images: int
    where: str
    nodes: int
    cpus: float
    workers: int
    cpus_per_worker: float
    threads_per_worker: int


def run_job(
    names: Sequence[str],
    package: ModelPackage,
    decode: DecodeConfig,
    options: JobOptions,
    on_plan: Callable[[JobPlan], None],
    on_records: Callable[[list[dict]], None],
) -> None:
    """Caption `names` on Ray; on_records gets each finished batch of rows, in input order."""
    with cluster.connected(options.address, options.local_cpus) as info:
        import ray

        from im2txt.batch import pipeline

        workers = options.workers or cluster.default_workers(info)
        cpus = cluster.worker_cpus(info.node_cpus, workers)
        threads = options.worker_threads or cluster.worker_threads(cpus)
        plan = JobPlan(package.name, len(names), info.where, len(info.node_cpus), info.cpus,
                       workers, cpus, threads)  # fmt: skip
        settings = pipeline.Settings(
            batch_size=options.batch_size,
            stall_seconds=options.stall_seconds
            or float(os.environ.get(STALL_ENV, DEFAULT_STALL_SECONDS)),
            workers=workers,
            cpus_per_worker=cpus,
            threads_per_worker=threads,
            where=info.where,
            model_source=package.folder,
        )
        # The model reaches every worker's node through the object store (no shared disk).
        model_files = ray.put(package.files)
        on_plan(plan)
        if info.client:
            from im2txt.batch.client import relay_rows

            rows = relay_rows(names, model_files, decode, settings)
        else:
            rows = pipeline.stream_rows(names, model_files, decode, settings, info.driver_node)
        for records in rows:
            on_records(records)
