"""The SQL migrations in ``schemas/sql``: which exist, for which backend, in which order.

Layout: ``NNN_name.sql`` applies to every backend; ``native/NNN_name.sql`` and
``timescale/NNN_name.sql`` apply to one backend only. All are ordered by their number, which
must be unique within a backend's list, so the order never depends on directory names.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from importlib.abc import Traversable
from itertools import pairwise

_NAME = re.compile(r"^(?P<number>\d{3})_[a-z0-9_]+\.sql$")


class Backend(StrEnum):
    NATIVE = "native"  # plain PostgreSQL: declarative range partitioning
    TIMESCALE = "timescale"  # TimescaleDB: hypertables, compression and retention policies


class MigrationError(Exception):
    """A migration could not be found, ordered, or applied."""


@dataclass(frozen=True, slots=True)
class Migration:
    id: str  # "010_history" or "native/030_time_partitioning"
    number: int
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def sql_root() -> Traversable:
    return resources.files("schemas") / "sql"


def _collect(directory: Traversable, prefix: str) -> list[Migration]:
    found = []
    for entry in directory.iterdir():
        if not entry.is_file() or not entry.name.endswith(".sql"):
            continue
        match = _NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"{prefix}{entry.name}: expected a name like 010_some_change.sql")
        found.append(
            Migration(
                id=f"{prefix}{entry.name.removesuffix('.sql')}",
                number=int(match["number"]),
                sql=entry.read_text(encoding="utf-8"),
            )
        )
    return found


def migrations_for(backend: Backend, root: Traversable | None = None) -> list[Migration]:
    """The migrations of ``backend`` in the order they are applied."""
    root = root or sql_root()
    common = _collect(root, "")
    specific = _collect(root / backend.value, f"{backend.value}/")
    ordered = sorted(common + specific, key=lambda m: m.number)
    for earlier, later in pairwise(ordered):
        if earlier.number == later.number:
            raise MigrationError(f"{earlier.id} and {later.id} share the number {earlier.number}")
    return ordered
