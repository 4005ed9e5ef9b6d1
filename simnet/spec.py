"""What one run simulates: the world, the policy that serves it, how many days, the seed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from simnet.config import WorldConfig


@dataclass(frozen=True)
class RunSpec:
    """What to simulate; ``tag`` tells apart runs of the same world, policy and seed."""

    config: WorldConfig
    policy: str
    days: int
    seed: int
    tag: str = ""

    @property
    def run_id(self) -> str:
        """Names the run's events: ``<world>-s<seed>-<policy>[-<tag>]`` (event ids add a sequence)."""
        world = hashlib.sha256(self.config.model_dump_json().encode()).hexdigest()[:8]
        return f"{world}-s{self.seed}-{self.policy}" + (f"-{self.tag}" if self.tag else "")
