"""Exponential backoff with jitter, for retrying the database (pure)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry ``attempt`` (1-based): base * 2**(attempt-1), capped, with jitter.

    Jitter (a uniform factor in [1 - jitter, 1]) keeps several sinks that lost the same database
    from reconnecting in lock-step when it comes back.
    """

    base_s: float = 0.25
    cap_s: float = 10.0
    jitter: float = 0.5
    random: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, attempt: int) -> float:
        if attempt < 1:
            raise ValueError("attempt counts from 1")
        # Exponent bounded so that a long outage does not overflow the float.
        raw = min(self.cap_s, self.base_s * 2.0 ** min(attempt - 1, 60))
        return raw * (1.0 - self.jitter * self.random())
