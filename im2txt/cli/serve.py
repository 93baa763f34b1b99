"""`serve`: captioning over HTTP, IBM MAX's API and a native one, on uvicorn or Ray Serve."""

from __future__ import annotations

import argparse
import importlib.util
import os

from im2txt.cli.common import add_model_arguments, positive_int
from im2txt.errors import Im2txtError
from im2txt.serve.settings import ServeSettings


def add(commands) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve captions over HTTP (IBM MAX's API and a native one)",
        description="Serve the model over HTTP: POST /model/predict (IBM MAX's Image Caption "
        "Generator API, unchanged), POST /v1/captions (several images, decode settings, per-word "
        "probabilities), /health, /ready, and interactive docs at /. Needs the serve extra: "
        "pip install '.[serve]'.",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 for every one)",
    )
    parser.add_argument("--port", type=positive_int, default=5000, help="port (default 5000)")
    add_model_arguments(parser)
    parser.add_argument(
        "--workers", type=positive_int, default=1, metavar="N",
        help="server processes, one model in memory each (default 1; one process already "
        "batches concurrent requests)",
    )  # fmt: skip
    parser.add_argument(
        "--token", default=os.environ.get("IM2TXT_SERVE_TOKEN"),
        help="require 'Authorization: Bearer TOKEN' (default: $IM2TXT_SERVE_TOKEN, else none)",
    )  # fmt: skip
    parser.add_argument(
        "--cors-origin", action="append", default=[], metavar="ORIGIN",
        help="let browsers on ORIGIN call the API (repeatable; default: none)",
    )  # fmt: skip
    parser.add_argument(
        "--max-upload-mb", type=positive_int, default=ServeSettings.max_upload_mb, metavar="MB",
        help=f"largest request body (default {ServeSettings.max_upload_mb}); larger gets 413",
    )  # fmt: skip
    ray = parser.add_argument_group("Ray Serve (needs the cluster extra)")
    ray.add_argument(
        "--replicas", type=positive_int, metavar="N",
        help="serve on Ray Serve with N replicas (each one model and one queue)",
    )  # fmt: skip
    ray.add_argument(
        "--max-replicas", type=positive_int, metavar="N",
        help="autoscale between --replicas and N replicas with the load",
    )  # fmt: skip
    ray.add_argument(
        "--address", metavar="ADDRESS",
        help="an existing Ray cluster (auto, or HOST:PORT of one of its nodes); "
        "default: an embedded Ray on this machine",
    )  # fmt: skip
    # The parent process of --workers N and Ray's driver never run the network.
    parser.set_defaults(run=run, tensorflow=False)


SERVE_HINT = "pip install -r requirements-serve.txt (or: pip install '.[serve]')"
RAY_HINT = (
    "pip install -r requirements-cluster.txt -r requirements-serve.txt (or '.[cluster,serve]')"
)


def run(args: argparse.Namespace) -> int:
    ray = bool(args.replicas or args.max_replicas or args.address)
    missing = [
        m for m in ("fastapi", "uvicorn", "multipart") if importlib.util.find_spec(m) is None
    ]
    if ray and importlib.util.find_spec("ray") is None:
        missing.append("ray")
    if missing:
        raise Im2txtError(
            f"serve needs packages that are not installed ({', '.join(missing)}): "
            f"{RAY_HINT if ray else SERVE_HINT}"
        )
    settings = ServeSettings(
        model=args.model, host=args.host, port=args.port, token=args.token,
        cors_origins=tuple(args.cors_origin), max_upload_mb=args.max_upload_mb,
    )  # fmt: skip
    if ray:
        from im2txt.serve.ray_app import Replicas
        from im2txt.serve.ray_app import run as run_on_ray

        replicas = Replicas(count=args.replicas or 1, max_replicas=args.max_replicas)
        print(f"Serving on Ray Serve at http://{settings.host}:{settings.port}/ "
              f"({replicas.count} replica(s)); Ctrl+C stops it.")  # fmt: skip
        run_on_ray(settings, replicas, address=args.address)
        return 0
    import uvicorn

    if args.workers > 1:
        os.environ["IM2TXT_SERVE_SETTINGS"] = settings.to_json()
        uvicorn.run("im2txt.serve.api:app_from_environment", factory=True, host=settings.host,
                    port=settings.port, workers=args.workers)  # fmt: skip
        return 0
    from im2txt.serve.api import create_app
    from im2txt.serve.service import CaptionService

    uvicorn.run(create_app(CaptionService(settings)), host=settings.host, port=settings.port)
    return 0
