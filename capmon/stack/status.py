"""What ``capmon stack status`` reports for each service."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"
    # A database given by CAPMON_DATABASE_URL: checked, never started or stopped.
    EXTERNAL = "external"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    name: str
    state: State
    address: str
    pid: int | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.state in (State.RUNNING, State.EXTERNAL)

    def line(self) -> str:
        pid = f"pid {self.pid}" if self.pid is not None else ""
        parts = [f"{self.name:<9}", f"{self.state.value:<11}", self.address]
        if pid:
            parts.append(pid)
        if self.detail:
            parts.append(f"({self.detail})")
        return "  ".join(parts).rstrip()
