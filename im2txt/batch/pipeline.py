"""The Ray Data pipeline: image names -> bytes -> caption actors -> rows, streamed in order.

    from_items(names) -> map_batches(read_images)        tasks, no CPU asked, on the driver's node
                      -> map_batches(CaptionWorker)      a fixed pool of actors, one model each
                      -> iter_batches() on the driver    rows in input order, as they finish

Ray Data streams: only a bounded number of batches are in flight whatever the archive's size.
It restarts a killed actor and retries its batch (its defaults for actor pools), and a retried
batch's rows reach the driver once. Its no-progress guard stops a job in which nothing moves
(workers that cannot be placed wait silently otherwise): reported as StalledJob.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterator, Sequence

from im2txt.batch.values import JobPlan
from im2txt.config import DecodeConfig
from im2txt.errors import Im2txtError

# Reading tasks at once on the driver's node for local files (URIs: one per worker).
LOCAL_READERS = 2
# The label Ray gives every node: its node id.
NODE_ID_LABEL = "ray.io/node-id"
# "ValueError: ...", "im2txt.errors.ModelError: ..." in a traceback Ray passes on.
_ERROR_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?(\w*(?:Error|Exception)): (.+)$")


class StalledJob(Im2txtError):
    """Nothing moved in the job for JobPlan.stall_seconds."""


def stream_rows(
    names: Sequence[str],
    model_files,
    decode: DecodeConfig,
    plan: JobPlan,
    driver_node: str,
) -> Iterator[list[dict]]:
    """Batches of rows (caption --json's dicts), in input order. `model_files` is the object
    reference of the model's files; local paths are read on `driver_node`."""
    import ray
    from ray.data import ActorPoolStrategy, DataContext, TaskPoolStrategy
    from ray.data.exceptions import ExecutionTimeoutError

    from im2txt.batch.inputs import is_uri
    from im2txt.batch.reading import read_images
    from im2txt.batch.worker import CaptionWorker

    context = DataContext.get_current()
    context.execution_no_progress_timeout_s = plan.stall_seconds
    context.enable_progress_bars = False  # the caller shows progress
    logging.getLogger("ray.data._internal.progress").addFilter(_no_progress_bar_notice)
    context.execution_options.preserve_order = True

    workers = plan.workers
    # A small job still gives every worker a share.
    batch_size = max(1, min(plan.batch_size, math.ceil(len(names) / workers)))
    blocks = math.ceil(len(names) / batch_size)
    dataset: ray.data.Dataset = ray.data.from_items(
        [{"image": name} for name in names], override_num_blocks=blocks
    )
    # Local paths exist on the driver's machine only: read them on its node. Reading asks for
    # no CPU (so it never waits for the workers' CPUs); a fixed pool bounds how many run at
    # once (each is a Python process).
    local = not all(is_uri(name) for name in names)
    dataset = dataset.map_batches(
        read_images,
        batch_size=batch_size,
        num_cpus=0,
        compute=TaskPoolStrategy(size=LOCAL_READERS if local else workers),
        label_selector={NODE_ID_LABEL: driver_node} if local else None,
    )
    dataset = dataset.map_batches(
        CaptionWorker,
        batch_size=batch_size,
        compute=ActorPoolStrategy(size=workers),
        num_cpus=plan.cpus_per_worker,
        # [ObjectRef]: in a list, so the workers get the reference and fetch the files
        # themselves, once each.
        fn_constructor_kwargs={
            "model_files": [model_files],
            "source": plan.model_source,
            "decode": decode,
            "threads": plan.threads_per_worker,
        },
    )
    try:
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            yield [json.loads(record) for record in batch["record"]]
    except ExecutionTimeoutError:
        raise StalledJob(
            f"nothing moved in {plan.stall_seconds:.0f} s: {workers} worker"
            f"{'s' * (workers != 1)} of {plan.cpus_per_worker:g} CPU each asked of "
            f"{plan.where} ({_resources(ray)}); is another job holding its CPUs? (lower "
            "--workers, free the cluster, or wait longer: RAY_DATA_EXECUTION_NO_PROGRESS_"
            "TIMEOUT_S)"
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
