"""Where a batch job runs: an embedded Ray on this machine, or an existing Ray cluster.

- No address: a private Ray started for this run (`address="local"`, never one found on the
  machine), on 127.0.0.1 only, with token authentication on (no notice printed about it) and
  Ray's usage statistics off; it stops with the run.
- `auto` or `HOST:PORT` (the cluster's GCS, from one of its nodes) or `ray://HOST:10001` (Ray
  Client, from anywhere; see client.py): that cluster; the authentication and reporting
  settings are the cluster's. A cluster started on this machine's loopback
  (`ray start --head --node-ip-address=127.0.0.1`) is reached as 127.0.0.1.

Ray is imported inside the functions: `python -m im2txt --help` works without it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from im2txt.errors import Im2txtError

INSTALL_HINT = "pip install -r requirements-cluster.txt (or pip install .[cluster])"
_LOOPBACK_HOSTS = ("127.", "localhost", "::1", "[::1]")


@dataclass(frozen=True)
class ClusterInfo:
    """The cluster a job runs on, as the driver sees it at the start."""

    # "embedded Ray" or the address given.
    where: str
    # Logical CPUs of each alive node.
    node_cpus: tuple[float, ...]
    # The node this driver runs on: where local files are read ("" over Ray Client).
    driver_node: str
    # Connected over Ray Client (ray://): this process is not part of the cluster.
    client: bool = False

    @property
    def cpus(self) -> float:
        return sum(self.node_cpus)


def check_ray() -> None:
    """Im2txtError, before anything is written, if Ray is not installed. Ray is not imported:
    its settings below are read from the environment when it is."""
    if importlib.util.find_spec("ray") is None:
        raise Im2txtError(f"batch needs Ray Data: {INSTALL_HINT}")


def import_ray():
    """The ray module, or Im2txtError saying how to install it."""
    try:
        import ray
        import ray.data  # ray[data], not only ray
    except ImportError:
        raise Im2txtError(f"batch needs Ray Data: {INSTALL_HINT}") from None
    return ray


@contextlib.contextmanager
def connected(address: str | None, num_cpus: int | None = None) -> Iterator[ClusterInfo]:
    """Start or join Ray for the duration of the block; always shut down (or disconnect)."""
    # Ray reads these when it is imported: set them first.
    if address is None or _is_loopback(address):
        # Ray's single-machine mode (as on macOS and Windows): this machine's node address is
        # 127.0.0.1, so every server binds to the loopback only.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    temporary = None
    if address is None:
        # Set explicitly, Ray keeps token authentication on without printing a notice.
        os.environ.setdefault("RAY_AUTH_MODE", "token")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if "RAY_TMPDIR" not in os.environ:
            # The run's Ray sessions and logs, removed with it (Ray would keep them in
            # /tmp/ray). Short: Ray's socket paths there must stay under ~100 characters.
            temporary = tempfile.mkdtemp(prefix="im2txt-ray-", dir=_short_temp_root())
            os.environ["RAY_TMPDIR"] = temporary
    try:
        with _started(address, num_cpus) as info:
            yield info
    finally:
        if temporary is not None:
            del os.environ["RAY_TMPDIR"]
            shutil.rmtree(temporary, ignore_errors=True)


@contextlib.contextmanager
def _started(address: str | None, num_cpus: int | None) -> Iterator[ClusterInfo]:
    ray = import_ray()
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
    try:
        if address is None:
            ray.init(
                address="local",
                num_cpus=num_cpus or os.cpu_count() or 1,
                include_dashboard=False,
                **quiet,
            )
        else:
            _join(ray, address, quiet)
    except (ConnectionError, RuntimeError, ValueError) as e:
        ray.shutdown()
        where = "start Ray" if address is None else f"connect to the Ray cluster at {address}"
        raise Im2txtError(f"cannot {where}: {str(e).splitlines()[0]}") from None
    try:
        nodes = [node for node in ray.nodes() if node.get("Alive")]
        client = address is not None and address.startswith("ray://")
        info = ClusterInfo(
            where="embedded Ray" if address is None else f"Ray cluster at {address}",
            node_cpus=tuple(float(node["Resources"].get("CPU", 0)) for node in nodes),
            driver_node="" if client else ray.get_runtime_context().get_node_id(),
            client=client,
        )
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        yield info
    finally:
        ray.shutdown()


def _join(ray, address: str, options: dict) -> None:
    # Ray Client's server sometimes fails to start the session it makes for a client on a
    # busy head ("Initialization failure from server", no reason given): try again.
    attempts = 3 if address.startswith("ray://") else 1
    for attempt in range(1, attempts + 1):
        try:
            ray.init(address=address, **options)
            return
        except ConnectionAbortedError:
            ray.shutdown()
            if attempt == attempts:
                raise


def worker_cpus(node_cpus: tuple[float, ...], workers: int) -> float:
    """The CPUs each of `workers` actors asks for so that all of them fit on the nodes at once.

    The largest share such that the nodes hold `workers` actors between them (an actor lives on
    one node), rounded down to Ray's resource granularity. The steps that read files ask for no
    CPU, so the actors may take every CPU without starving them (a pool that takes every CPU
    while reads wait for one hangs Ray Data).
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if not any(cpus > 0 for cpus in node_cpus):
        raise Im2txtError("the Ray cluster has no CPUs for workers")
    best = 0.0
    for cpus in node_cpus:
        for share in range(1, workers + 1):
            candidate = math.floor(cpus / share * 10_000) / 10_000
            if candidate > best and _capacity(node_cpus, candidate) >= workers:
                best = candidate
    return best


def worker_threads(cpus: float) -> int:
    """TensorFlow threads for a worker given `cpus`: its whole CPUs, at least one.

    TensorFlow's sums come out the same only for the same thread count: a worker that has a
    whole node (as many threads as caption_many uses there) gives bit-identical probabilities;
    fewer threads change their last digits (~1e-5 relative; the captions' words stay the same).
    """
    return max(1, math.floor(cpus + 1e-9))


def default_workers(info: ClusterInfo) -> int:
    """One worker per CPU of the cluster."""
    return max(1, math.floor(info.cpus + 1e-9))


def _capacity(node_cpus: tuple[float, ...], share: float) -> int:
    return sum(math.floor(cpus / share + 1e-9) for cpus in node_cpus)


def _short_temp_root() -> str | None:
    return "/tmp" if os.path.isdir("/tmp") else None


def _is_loopback(address: str) -> bool:
    host = address.removeprefix("ray://")
    return host.startswith(_LOOPBACK_HOSTS)
