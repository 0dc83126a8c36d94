"""One function spec's environments in a pool, by state (the pool's lock guards every use)."""

from __future__ import annotations

from registry.executor.environment import Environment


class SpecEnvironments:
    def __init__(self):
        self.idle: list[Environment] = []
        self.busy: set[Environment] = set()
        self.starting = 0
        self.provisioned = 0

    @property
    def count(self) -> int:
        return len(self.idle) + len(self.busy) + self.starting

    def reclaimable(self) -> list[Environment]:
        """Idle environments beyond the provisioned ones, least recently used first."""
        surplus = max(0, self.count - self.provisioned)
        return sorted(self.idle, key=lambda e: e.last_used)[:surplus]

    def take_idle(self) -> Environment | None:
        """The most recently used idle environment, now busy."""
        for index in range(len(self.idle) - 1, -1, -1):
            env = self.idle[index]
            if not env.dead:  # a dead one is left to the reaper, which gives back its memory
                del self.idle[index]
                self.busy.add(env)
                return env
        return None
