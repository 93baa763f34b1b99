"""Ray Client (`ray://`): the pipeline runs in an actor on the cluster; its rows come back here.

Ray Data's executor needs a driver that is part of the cluster (ray-project/ray#42739), and a
process connected over Ray Client is not. So an actor on the head node runs
pipeline.stream_rows (local paths are then read on the head node) and keeps the finished
batches in a small queue that this process empties and writes, as it would its own rows; a full
queue holds the pipeline back. The actor belongs to this process's job: it goes when this
process disconnects or dies.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from im2txt.batch.pipeline import stream_rows
from im2txt.batch.values import JobPlan
from im2txt.config import DecodeConfig

_QUEUED_BATCHES = 8
_POLL_SECONDS = 1.0


class RemoteDriver:
    """The pipeline's driver inside the cluster; take() hands over what it has finished."""

    def __init__(
        self, names: list[str], model_files: list, decode: DecodeConfig, plan: JobPlan
    ) -> None:
        import ray

        self._queue: queue.Queue = queue.Queue(maxsize=_QUEUED_BATCHES)
        node = ray.get_runtime_context().get_node_id()
        # [ObjectRef]: in a list, so Ray hands over the reference, not the files.
        args = (names, model_files[0], decode, plan, node)
        threading.Thread(target=self._run, args=args, daemon=True).start()

    def _run(self, *args) -> None:
        try:
            for records in stream_rows(*args):
                self._queue.put(("rows", records))
            self._queue.put(("done", None))
        except Exception as e:  # the job's end, reported to the client as it was raised
            self._queue.put(("error", e))

    def take(self, wait: float) -> list[tuple]:
        """What is ready, waiting up to `wait` seconds for something."""
        try:
            items = [self._queue.get(timeout=wait)]
        except queue.Empty:
            return []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items


def relay_rows(
    names: Sequence[str], model_files, decode: DecodeConfig, plan: JobPlan
) -> Iterator[list[dict]]:
    """stream_rows, run by a RemoteDriver on the cluster's head node."""
    import ray

    # Any: Ray's actor handles are not typed per method (driver.take.remote).
    driver: Any = (
        ray.remote(RemoteDriver)
        .options(num_cpus=0, resources={"node:__internal_head__": 0.001})
        .remote(list(names), [model_files], decode, plan)
    )
    while True:
        for kind, value in ray.get(driver.take.remote(_POLL_SECONDS)):
            if kind == "error":
                raise value
            if kind == "done":
                return
            yield value
