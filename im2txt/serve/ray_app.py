"""The same HTTP application on Ray Serve: replicas (or autoscaling bounds) on an embedded Ray or an
existing cluster, each replica one model and one queue, Ray Serve's proxy spreading the requests.

    python -m im2txt serve --replicas 2                  # an embedded Ray on this machine
    python -m im2txt serve --address auto --replicas 4   # a cluster, from one of its nodes
"""

from __future__ import annotations

from dataclasses import dataclass

from im2txt.serve.settings import ServeSettings


@dataclass(frozen=True)
class Replicas:
    # A fixed number of replicas; or, with max_replicas, autoscaling between the two bounds.
    count: int = 1
    max_replicas: int | None = None
    # Ongoing requests per replica that autoscaling aims for (each replica batches them).
    target_ongoing_requests: int = 16
    # CPUs Ray reserves for each replica (TensorFlow uses them for one batch at a time).
    cpus: float = 1.0

    def __post_init__(self) -> None:
        if self.count < 1 or (self.max_replicas is not None and self.max_replicas < self.count):
            raise ValueError("replicas must be at least 1, and the maximum at least as many")


def build(settings: ServeSettings, replicas: Replicas):
    """The Ray Serve application (an Application to serve.run)."""
    from ray import serve

    from im2txt.serve.api import create_app
    from im2txt.serve.service import CaptionService

    @serve.ingress()
    class Captioning:
        def __init__(self, settings: ServeSettings) -> None:
            # Loaded before the replica takes requests: Ray Serve's readiness is the model's.
            self.service = CaptionService(settings)
            self.service.start()

        def __serve_build_asgi_app__(self):
            return create_app(self.service)

    actor = {"num_cpus": replicas.cpus}
    ongoing = 4 * replicas.target_ongoing_requests
    if replicas.max_replicas is not None:
        autoscaling = {
            "min_replicas": replicas.count,
            "max_replicas": replicas.max_replicas,
            "target_ongoing_requests": replicas.target_ongoing_requests,
        }
        deployment = serve.deployment(
            name="im2txt", autoscaling_config=autoscaling, max_ongoing_requests=ongoing,
            ray_actor_options=actor,
        )(Captioning)  # fmt: skip
    else:
        deployment = serve.deployment(
            name="im2txt", num_replicas=replicas.count, max_ongoing_requests=ongoing,
            ray_actor_options=actor,
        )(Captioning)  # fmt: skip
    return deployment.bind(settings)


def run(settings: ServeSettings, replicas: Replicas, address: str | None = None,
        blocking: bool = True) -> None:  # fmt: skip
    """Start (or join) Ray, then serve on settings.host:settings.port until interrupted."""
    import ray
    from ray import serve

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": settings.host, "port": settings.port})
    serve.run(build(settings, replicas), name="im2txt", route_prefix="/", blocking=blocking)
