"""Arm assignment: a user's arm is a pure function of (experiment name, user_id) and the splits.

The hash is BLAKE2b of ``"<experiment>:<user_id>"`` read as a fraction in [0, 1); arms own
consecutive slices of [0, 1) in proportion to their weights. So a user keeps their arm across
requests, replicas and restarts, a new experiment name reshuffles everyone, and the realised
split matches the configured one within sampling error.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate

from components.registry.experiments import ExperimentConfig

_SCALE = float(2**64)


def bucket(experiment: str, user_id: int) -> float:
    """The user's position in [0, 1) for ``experiment``."""
    digest = hashlib.blake2b(f"{experiment}:{user_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


class Assigner:
    """Assigns users to the arms of one experiment (a hash per user: about a microsecond, no state)."""

    def __init__(self, experiment: ExperimentConfig) -> None:
        self.experiment = experiment
        total = sum(arm.weight for arm in experiment.arms)
        self.names = [arm.name for arm in experiment.arms]
        self._edges = [edge / total for edge in accumulate(arm.weight for arm in experiment.arms)][:-1]

    def arm_of(self, user_id: int) -> str:
        """The arm of one user."""
        return self.names[bisect_right(self._edges, bucket(self.experiment.name, user_id))]

    def assign(self, user_ids: Iterable[int]) -> list[str]:
        """The arm of each user, in order."""
        return [self.arm_of(int(u)) for u in user_ids]
