"""The simulated clock against the wall clock: speed factor, rate limit, no running ahead.

- ``speed`` > 0: simulated time runs ``speed`` times as fast as wall time from ``start``
  (60 = a day in 24 minutes); ``speed`` 0: as fast as the model and the sink allow.
- ``rate``: at most this many events per wall second (a load test's target), whatever
  the speed.
- ``no_future``: never let simulated time pass the wall clock, because the pipeline
  refuses events from the future (the demo at 60x catches up with now and then runs in
  real time).

Clocks are injected so tests run without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Pacer:
    def __init__(
        self,
        *,
        start: int,
        speed: float,
        rate: float | None = None,
        no_future: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        if rate is not None and rate <= 0:
            raise ValueError("rate must be > 0")
        self.start = start
        self.speed = speed
        self.rate = rate
        self.no_future = no_future
        self._monotonic = monotonic
        self._wall = wall
        self._sleep = sleep
        self._t0 = monotonic()
        self._sent = 0

    @property
    def unpaced(self) -> bool:
        return self.speed == 0

    def target(self, current: int, step_s: int) -> int:
        """The simulated time to advance to now (``current`` + ``step_s`` when unpaced)."""
        if self.speed == 0:
            target = current + step_s
        else:
            elapsed = self._monotonic() - self._t0
            target = self.start + int(elapsed * self.speed)
        if self.no_future:
            target = min(target, int(self._wall()))
        return target

    def wall_seconds_until(self, sim_ts: int) -> float:
        """Wall seconds until simulated time reaches ``sim_ts`` (0 when unpaced or due)."""
        if self.speed == 0:
            return 0.0
        due = self._t0 + (sim_ts - self.start) / self.speed
        return max(0.0, due - self._monotonic())

    async def tick(self, seconds: float) -> None:
        """Wait between ticks of a paced run (the injected sleep, so tests need not wait)."""
        await self._sleep(seconds)

    async def throttle(self, events: int) -> None:
        """Count ``events`` as sent; sleep if that runs ahead of the rate."""
        self._sent += events
        if self.rate is None:
            return
        ahead = self._sent / self.rate - (self._monotonic() - self._t0)
        if ahead > 0.005:
            await self._sleep(ahead)
