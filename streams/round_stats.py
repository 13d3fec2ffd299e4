"""Where a worker's time goes, per phase of its rounds: logged every interval at INFO.

An operator's first question about a lagging worker is whether it is busy (and doing
what) or waiting for input; the answer is a line in its log, not a profiler session::

    wards: 1,840 msgs/s in 9.0 rounds/s (204/round); busy 87% (process 61%, emit 18%,
    flush 8%); input age 420 ms mean, 1,310 ms max
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

PHASES = ("process", "emit", "flush", "checkpoint")


@dataclass(slots=True)
class RoundStats:
    """Seconds per phase and counts since the last report (``report`` resets them)."""

    name: str
    clock: Callable[[], float] = time.perf_counter
    rounds: int = 0
    messages: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    since: float = field(default=0.0)
    # age of the oldest input message of each round when the round starts (Kafka timestamp
    # to now): how far behind its input the worker is
    age_sum: float = 0.0
    age_max: float = 0.0

    def __post_init__(self) -> None:
        self.since = self.clock()

    def round(self, messages: int, age_s: float = 0.0) -> None:
        self.rounds += 1
        self.messages += messages
        self.age_sum += age_s
        self.age_max = max(self.age_max, age_s)

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] += seconds

    def summary(self) -> str:
        """The report line for the time since the last ``reset``."""
        elapsed = max(self.clock() - self.since, 1e-9)
        busy = sum(self.seconds.values())
        shares = ", ".join(
            f"{phase} {100 * spent / elapsed:.0f}%"
            for phase, spent in self.seconds.items()
            if spent
        )
        per_round = self.messages / self.rounds if self.rounds else 0.0
        age = self.age_sum / self.rounds if self.rounds else 0.0
        return (
            f"{self.name}: {self.messages / elapsed:,.0f} msgs/s in "
            f"{self.rounds / elapsed:,.1f} rounds/s ({per_round:,.0f}/round); "
            f"busy {100 * busy / elapsed:.0f}% ({shares or 'idle'}); "
            f"input age {1000 * age:,.0f} ms mean, {1000 * self.age_max:,.0f} ms max"
        )

    def reset(self) -> None:
        self.rounds = self.messages = 0
        self.age_sum = self.age_max = 0.0
        self.seconds = dict.fromkeys(PHASES, 0.0)
        self.since = self.clock()

    def report(self, log: logging.Logger) -> None:
        if self.rounds or any(self.seconds.values()):
            log.info("%s", self.summary())
        self.reset()
