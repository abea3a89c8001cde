"""Two replicas of ``gradebot serve`` (real OS processes) on one PostgreSQL database behind
a round-robin proxy: concurrent gradings, replayed Slack retries, database connections cut
mid-grading, and ``kill -9`` of a replica mid-grading. The tests share one cluster and run
in this order (the last one kills a replica)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.load import scenarios
from tests.load.harness import Cluster

pytestmark = pytest.mark.postgres
Figures = Callable[[str, dict[str, Any]], None]


def _log_sizes(cluster: Cluster) -> dict[str, int]:
    return {r.name: len(r.log_tail(10**8)) for r in cluster.replicas}


def _new_errors(cluster: Cluster, since: dict[str, int]) -> list[str]:
    out = []
    for r in cluster.replicas:
        text = r.log_tail(10**8)[since.get(r.name, 0):]
        out += [f"{r.name}: {line}" for line in text.splitlines()
                if "Traceback" in line or "ERROR" in line]
    return out


def test_concurrent_gradings_on_two_replicas(cluster: Cluster, figures: Figures) -> None:
    logs = _log_sizes(cluster)
    # 8 at once already has both replicas serving interleaved gradings; 50 in the bench
    fig = scenarios.concurrent_gradings(cluster, reps=8)
    figures("1. two replicas, 8 reps grading at once", fig)
    assert fig["graded"] == 8
    assert all(n > 0 for n in fig["per_replica"].values()), fig  # both replicas served
    assert not _new_errors(cluster, logs)


def test_replayed_event_retries_change_nothing(cluster: Cluster, figures: Figures) -> None:
    logs = _log_sizes(cluster)
    # 4 reps: each of their 6 typed inputs delivered 4 times at once (72 retries) over both
    # replicas; 1,000 in the bench
    fig = scenarios.replayed_retries(cluster, retries=72)
    figures("2. event retries replayed across replicas", fig)
    assert fig["retries"] >= 72
    assert all(n > 0 for n in fig["per_replica"].values()), fig
    assert not _new_errors(cluster, logs)


def test_database_connections_cut_mid_grading(cluster: Cluster, figures: Figures) -> None:
    fig = scenarios.connections_cut(cluster, reps=4, cuts=2)
    figures("5c. database connections cut mid-grading", fig)
    assert fig["backends_terminated"] > 0


def test_kill_9_of_a_replica_mid_grading(cluster: Cluster, figures: Figures) -> None:
    fig = scenarios.kill_midway(cluster, reps=8, restart=True)
    figures("3. kill -9 of a replica mid-grading", fig)
    assert fig["resumed_at_right_question"] == fig["stuck_and_resumed"]
