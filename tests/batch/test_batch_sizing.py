"""How the caption workers share a cluster's CPUs: all of them must fit on the nodes at once."""

from __future__ import annotations

import itertools
import math

import pytest

from im2txt.batch.cluster import ClusterInfo, default_workers, worker_cpus
from im2txt.errors import Im2txtError


@pytest.mark.parametrize(
    ("nodes", "workers", "expected"),
    [
        ((2.0,), 1, 2.0),  # one worker takes the machine
        ((2.0,), 2, 1.0),
        ((2.0,), 3, 0.6666),  # rounded down to Ray's 1/10000 granularity
        ((1.0, 1.0), 2, 1.0),  # the simulated two-node cluster: one worker per node
        ((1.0, 1.0), 3, 0.5),  # 0.6666 would fit one per node, not three
        ((8.0, 2.0), 2, 4.0),
        ((8.0, 2.0), 5, 2.0),
        ((16.0, 16.0, 4.0), 36, 1.0),
    ],
)
def test_worker_shares(nodes, workers, expected):
    assert worker_cpus(nodes, workers) == expected


def _placeable(nodes, workers, share) -> bool:
    """Place `workers` actors of `share` CPUs one by one on nodes, first fit, as Ray can."""
    free = list(nodes)
    for _ in range(workers):
        for i, cpus in enumerate(free):
            if cpus + 1e-9 >= share:
                free[i] = cpus - share
                break
        else:
            return False
    return True


def test_every_share_fits_and_no_larger_one_would():
    for nodes in [(1.0,), (2.0,), (3.0, 1.0), (4.0, 4.0), (2.0, 1.0, 1.0), (6.0, 0.0)]:
        for workers in range(1, 13):
            share = worker_cpus(nodes, workers)
            assert _placeable(nodes, workers, share), (nodes, workers, share)
            assert not _placeable(nodes, workers, share + 0.01), (nodes, workers, share)


def test_no_cpus_is_an_error_not_a_wait():
    with pytest.raises(Im2txtError, match="no CPUs"):
        worker_cpus((0.0, 0.0), 1)


def test_one_worker_per_cpu_by_default():
    for nodes in itertools.product([1.0, 2.0, 8.0], repeat=2):
        info = ClusterInfo("test", nodes, "node")
        assert default_workers(info) == math.floor(sum(nodes))
