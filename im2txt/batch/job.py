"""A batch job on Ray: where it runs, how it is laid out, and its rows handed to the caller.

The job connects (embedded Ray or a cluster), makes the JobOptions' choices from the cluster's
CPUs (a JobPlan, values.py), puts the model's files in the object store and streams the
pipeline's rows (pipeline.py), the plan passed whole; over Ray Client the pipeline runs on the
cluster and its rows are relayed (client.py). Nothing here writes files: the caller gets the rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from im2txt.batch import cluster
from im2txt.batch.model_package import ModelPackage
from im2txt.batch.values import DEFAULT_STALL_SECONDS, STALL_ENV, JobOptions, JobPlan
from im2txt.config import DecodeConfig


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
        stall = options.stall_seconds or float(os.environ.get(STALL_ENV, DEFAULT_STALL_SECONDS))
        plan = JobPlan(
            model=package.name,
            images=len(names),
            where=info.where,
            nodes=len(info.node_cpus),
            cpus=info.cpus,
            workers=workers,
            cpus_per_worker=cpus,
            threads_per_worker=threads,
            batch_size=options.batch_size,
            stall_seconds=stall,
            model_source=package.folder,
        )
        # The model reaches every worker's node through the object store (no shared disk).
        model_files = ray.put(package.files)
        on_plan(plan)
        if info.client:
            from im2txt.batch.client import relay_rows

            rows = relay_rows(names, model_files, decode, plan)
        else:
            rows = pipeline.stream_rows(names, model_files, decode, plan, info.driver_node)
        for records in rows:
            on_records(records)
