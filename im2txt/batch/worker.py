"""The caption worker: a Ray Data callable class holding one loaded model per worker process.

Ray Data builds one per actor of the pool and calls it once per batch of read images. The model
files come from the object store; TensorFlow is imported by load_captioner inside __init__, in
the worker process, never when this module is imported (ray-project/ray#44274: a TensorFlow
imported at module level is pickled along with the class).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from im2txt.config import DecodeConfig
from im2txt.errors import ModelError
from im2txt.results import ImageCaptions


class CaptionWorker:
    """batch {"image", "data", "error"} -> {"record": the rows as JSON, in the batch's order}."""

    def __init__(self, model_files: list, source: str, decode: DecodeConfig, threads: int) -> None:
        # Read by TensorFlow when it is imported (below): a worker with a share of a node's
        # CPUs must not run thread pools sized for the whole node (cluster.worker_threads).
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
        os.environ["TF_NUM_INTEROP_THREADS"] = str(threads)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import ray

        from im2txt.batch.model_package import unpack_model
        from im2txt.captioner import load_captioner

        files = ray.get(model_files[0])  # [ObjectRef]: the model's files, from the object store
        with tempfile.TemporaryDirectory(prefix="im2txt-model-") as folder:
            try:
                self.captioner = load_captioner(unpack_model(files, Path(folder)))
            except ModelError as e:  # name the files the user gave, not this copy
                raise ModelError(str(e).replace(folder, source)) from None
        del files
        self.decode = decode
        self.captioner.warm_up()

    def __call__(self, batch: dict) -> dict:
        names = [str(name) for name in batch["image"]]
        errors = [str(error) for error in batch["error"]]
        readable = [i for i, error in enumerate(errors) if not error]
        results = iter(
            self.captioner.caption_each(
                [bytes(batch["data"][i]) for i in readable],
                names=[names[i] for i in readable],
                decode=self.decode,
            )
        )
        records = []
        for name, error in zip(names, errors, strict=True):
            if error:  # not read: the row of an image that failed (caption --json's shape)
                records.append(ImageCaptions(name, error=error).to_dict())
            else:
                records.append(next(results).to_dict())
        return {"record": [json.dumps(record, ensure_ascii=False) for record in records]}
