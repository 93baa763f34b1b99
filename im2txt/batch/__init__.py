"""Batch captioning of whole archives on Ray Data, from a laptop to a cluster.

    from im2txt.batch import caption_archive
    summary = caption_archive(["photos/"], "captions.jsonl")   # resumable; Ray embedded

Nothing here imports Ray or TensorFlow when imported: Ray is imported when a job starts, and
TensorFlow only inside the workers. Install Ray with `pip install -r requirements-cluster.txt`.
"""

from im2txt.batch.archive import BatchInterrupted, BatchSummary, caption_archive
from im2txt.batch.pipeline import StalledJob
from im2txt.batch.values import JobOptions, JobPlan

__all__ = [
    "BatchInterrupted",
    "BatchSummary",
    "JobOptions",
    "JobPlan",
    "StalledJob",
    "caption_archive",
]
