"""The Ray Data job: image names -> bytes (read on the driver's node) -> caption actors -> rows.

    from_items(names) -> map_batches(read_images)        tasks, no CPU asked, on the driver's node
                      -> map_batches(CaptionWorker)      a fixed pool of actors, one model each
                      -> iter_batches() on the driver    rows in input order, as they finish

Ray Data streams: only a bounded number of batches are in flight whatever the archive's size.
It restarts a killed actor and retries its batch (its defaults for actor pools), and a retried
batch's rows reach the driver once. Nothing here writes files: the caller gets the rows.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from im2txt.batch import cluster
from im2txt.batch.model_package import ModelPackage
from im2txt.config import DecodeConfig
from im2txt.errors import Im2txtError

DEFAULT_BATCH_SIZE = 16
# "ValueError: ...", "im2txt.errors.ModelError: ..." in a traceback Ray passes on.
_ERROR_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?(\w*(?:Error|Exception)): (.+)$")
# Reading tasks at once on the driver's node for local files (URIs: one per worker).
LOCAL_READERS = 2
# The label Ray gives every node: its node id.
NODE_ID_LABEL = "ray.io/node-id"
# Ray Data's own no-progress guard, shortened from its 30 minutes unless set in the environment.
STALL_ENV = "RAY_DATA_EXECUTION_NO_PROGRESS_TIMEOUT_S"
DEFAULT_STALL_SECONDS = 300.0


@dataclass(frozen=True)
class JobOptions:
    # None: an embedded Ray; else "auto" or "HOST:PORT" (not Ray Client's ray://).
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


class StalledJob(Im2txtError):
    """Nothing moved in the job for JobOptions.stall_seconds."""


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
        from ray.data import ActorPoolStrategy, DataContext, TaskPoolStrategy
        from ray.data.exceptions import ExecutionTimeoutError

        from im2txt.batch.inputs import is_uri
        from im2txt.batch.reading import read_images
        from im2txt.batch.worker import CaptionWorker

        workers = options.workers or cluster.default_workers(info)
        cpus = cluster.worker_cpus(info.node_cpus, workers)
        threads = options.worker_threads or cluster.worker_threads(cpus)
        plan = JobPlan(package.name, len(names), info.where, len(info.node_cpus), info.cpus,
                       workers, cpus, threads)  # fmt: skip
        on_plan(plan)

        stall_seconds = options.stall_seconds or float(
            os.environ.get(STALL_ENV, DEFAULT_STALL_SECONDS)
        )
        context = DataContext.get_current()
        context.execution_no_progress_timeout_s = stall_seconds
        context.enable_progress_bars = False  # the caller shows progress
        logging.getLogger("ray.data._internal.progress").addFilter(_no_progress_bar_notice)
        context.execution_options.preserve_order = True

        # The model reaches every worker's node through the object store (no shared disk).
        model_files = ray.put(package.files)
        # A small job still gives every worker a share.
        batch_size = max(1, min(options.batch_size, math.ceil(len(names) / workers)))
        blocks = math.ceil(len(names) / batch_size)
        dataset = ray.data.from_items(
            [{"image": name} for name in names], override_num_blocks=blocks
        )
        # Local paths exist on the driver's machine only: read them on its node. Reading asks
        # for no CPU (so it never waits for the workers' CPUs); a fixed pool bounds how many
        # run at once (each is a Python process).
        local = not all(is_uri(name) for name in names)
        dataset = dataset.map_batches(
            read_images,
            batch_size=batch_size,
            num_cpus=0,
            compute=TaskPoolStrategy(size=LOCAL_READERS if local else workers),
            label_selector={NODE_ID_LABEL: info.driver_node} if local else None,
        )
        dataset = dataset.map_batches(
            CaptionWorker,
            batch_size=batch_size,
            compute=ActorPoolStrategy(size=workers),
            num_cpus=cpus,
            # [ObjectRef]: in a list, so the workers get the reference and fetch the files
            # themselves, once each.
            fn_constructor_kwargs={
                "model_files": [model_files],
                "source": package.folder,
                "decode": decode,
                "threads": threads,
            },
        )
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                on_records([json.loads(record) for record in batch["record"]])
        except ExecutionTimeoutError:
            raise StalledJob(
                f"nothing moved in {stall_seconds:.0f} s: {workers} worker"
                f"{'s' * (workers != 1)} of {cpus:g} CPU each asked of {info.where} "
                f"({_resources(ray)}); is another job holding its CPUs? (lower --workers, "
                f"free the cluster, or wait longer: {STALL_ENV})"
            ) from None
        except ray.exceptions.RayError as e:
            raise Im2txtError(f"the Ray job failed: {_first_cause(e)}") from None


def _no_progress_bar_notice(record: logging.LogRecord) -> bool:
    return "Progress bars disabled" not in record.getMessage()


def _resources(ray) -> str:
    try:
        total = ray.cluster_resources().get("CPU", 0)
        free = ray.available_resources().get("CPU", 0)
        return f"{free:g} of {total:g} CPUs free"
    except Exception:  # the cluster may be the problem
        return "its resources could not be read"


def _first_cause(error: BaseException) -> str:
    """The worker's own error ("ModelError: ..."), not the traceback Ray wraps around it."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    errors = [match for line in lines if (match := _ERROR_LINE.match(line))]
    if errors:
        return f"{errors[-1].group(1)}: {errors[-1].group(2)}"
    return lines[-1] if lines else type(error).__name__
