"""Benchmark: worker memory (RSS) with every ward holding state, for the full reference data
and for a synthetic reference with 10× as many wards.

Per reference, on a fresh topic prefix: start ``capmon worker`` on empty topics and take
its idle RSS once its consumer group is stable; then produce a history for every ward that
fills what a ward state keeps at its largest (50 events per message): a sparse week (one
event every ``--week-gap-h`` hours: the hourly buckets of the 7-day window) and a dense
last ``--recent-hours`` (one event every ``--recent-gap-s`` on average: the events kept
within the lateness bound), wait until the worker has committed all of it, check that
every ward has a ward state, and take the RSS (the largest of a few samples over
``--settle-s``).

Baselines from the same run: for the full reference, the same worker idle (what the state
adds); for 10× wards, the full reference's figure (how memory scales with wards).

The 10× reference keeps the regions and hospitals and gives every hospital ten copies of
each ward (ids ``<ward id>X1`` .. ``X9``), written as CSV files to a temporary directory
that the worker reads through ``CAPMON_REFERENCE_DIR``.

    python -m bench.worker_memory [--factors 1,10] [--recent-hours 6] [--recent-gap-s 1200]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._events import Message, hospital_events, to_messages
from bench.common import (
    bench_settings,
    delete_prefix_topics,
    error_extra,
    produce,
    read_topic,
    result,
    say,
    start_worker,
    wait_group_done,
    wait_group_stable,
    work_directory,
    worker_group,
)
from schemas.reference import (
    DATA_DIR,
    HOSPITALS_FILE,
    REGIONS_FILE,
    WARDS_FILE,
    ReferenceData,
    load_reference,
)
from streams.app import table_store_url
from streams.topics import CONTRIBUTIONS_TOPIC, ensure_topics

MB = 2**20
WARD_COLUMNS = [
    "ward_id",
    "hospital_id",
    "name",
    "care_type",
    "specialty",
    "physical_beds",
    "typical_available_beds",
    "reporting_interval_s",
]


def write_scaled_reference(directory: Path, factor: int) -> Path:
    """The versioned reference data with every ward copied ``factor - 1`` more times."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in (REGIONS_FILE, HOSPITALS_FILE):
        shutil.copyfile(DATA_DIR / name, directory / name)
    base = load_reference()
    with (directory / WARDS_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=WARD_COLUMNS)
        writer.writeheader()
        for ward in base.wards.values():
            row = ward.model_dump(mode="json")
            writer.writerow(row)
            for copy in range(1, factor):
                writer.writerow(
                    row | {"ward_id": f"{ward.ward_id}X{copy}", "name": f"{ward.name} {copy}"}
                )
    return directory


@dataclass(frozen=True, slots=True)
class HistoryShape:
    """A sparse week then a dense recent stretch, per ward."""

    days: float
    week_gap_h: float
    recent_hours: float
    recent_gap_s: float

    @property
    def sparse(self) -> int:
        return max(0, round(self.days * 24 / self.week_gap_h))

    @property
    def recent(self) -> int:
        return max(1, round(self.recent_hours * 3600 / self.recent_gap_s))

    @property
    def per_ward(self) -> int:
        return self.sparse + self.recent

    def describe(self) -> str:
        return (
            f"{self.sparse} events over {self.days:g} days, then {self.recent} in the last "
            f"{self.recent_hours:g} h"
        )

    def messages(self, reference: ReferenceData, *, end: int) -> list[Message]:
        wards = len(reference.wards)
        # The dense part's gaps sum to about recent_hours; ending the sparse part twice
        # that earlier keeps every ward's events in time order.
        recent = hospital_events(
            reference, wards * self.recent, end=end, mean_gap_s=self.recent_gap_s, seed=2
        )
        if self.sparse:
            sparse = hospital_events(
                reference,
                wards * self.sparse,
                end=end - int(2 * self.recent_hours * 3600),
                mean_gap_s=self.week_gap_h * 3600,
                seed=3,
            )
            for hospital_id, events in sparse.items():
                recent[hospital_id] = events + recent.get(hospital_id, [])
        return to_messages(recent, 50)


async def sample_rss(rss: Any, seconds: float, every: float = 0.25) -> int:
    """The largest RSS seen over ``seconds`` (RSS moves as the allocator settles)."""
    peak = rss()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(every)
        peak = max(peak, rss())
    return int(peak)


async def measure(
    reference: ReferenceData,
    reference_dir: Path | None,
    *,
    shape: HistoryShape,
    store: str,
    settle_s: float,
    within: float,
    keep: bool,
) -> dict[str, Any]:
    settings = bench_settings(table_store=store)
    bootstrap = settings.kafka_bootstrap_servers
    events_topic = settings.topic(settings.topic_events)
    wards = len(reference.wards)
    say(f"{wards} wards: generating {wards * shape.per_ward:,} events")
    messages = shape.messages(reference, end=int(time.time()) - 60)
    overrides: dict[str, object] = {}
    if reference_dir is not None:
        overrides["reference_dir"] = reference_dir
    try:
        await ensure_topics(settings)
        with work_directory(keep=keep) as work_dir:
            worker = start_worker(settings, work_dir, overrides=overrides)
            try:
                await wait_group_stable(bootstrap, worker_group(settings), within=within)
                idle = await sample_rss(worker.rss_bytes, settle_s)
                say(f"{wards} wards: idle RSS {idle / MB:.0f} MB; producing the history")
                stats = await produce(bootstrap, events_topic, (m.as_tuple() for m in messages))
                peak = idle

                def alive() -> bool:
                    nonlocal peak
                    if worker.running:
                        peak = max(peak, worker.rss_bytes())
                    return worker.running

                await wait_group_done(
                    bootstrap,
                    worker_group(settings),
                    [events_topic, settings.topic(CONTRIBUTIONS_TOPIC)],
                    within=within,
                    alive=alive,
                )
                loaded = await sample_rss(worker.rss_bytes, settle_s)
            except (TimeoutError, RuntimeError) as exc:
                raise RuntimeError(f"{exc}\n--- worker log ---\n{worker.log_tail()}") from exc
            finally:
                worker.stop()
        states = await read_topic(bootstrap, settings.topic(settings.topic_ward_state))
        with_state = len({record.key for record in states})
        if with_state < wards:
            raise RuntimeError(f"only {with_state} of {wards} wards have a ward state")
        return {
            "rss": loaded,
            "idle": idle,
            "extra": {
                "wards": wards,
                "wards_with_state": with_state,
                "events": stats.events,
                "events_per_ward": shape.per_ward,
                "history": shape.describe(),
                "idle_rss_mb": round(idle / MB, 1),
                "peak_rss_mb": round(max(peak, loaded) / MB, 1),
                "rss_per_ward_kb": round((loaded - idle) / wards / 1024, 2),
                "table_store": table_store_url(settings),
            },
            "settings": settings,
        }
    finally:
        if not keep:
            await delete_prefix_topics(settings)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.worker_memory", description=__doc__)
    parser.add_argument("--factors", default="1,10", help="ward multipliers, comma-separated")
    parser.add_argument("--days", type=float, default=7.0, help="sparse history per ward")
    parser.add_argument("--week-gap-h", type=float, default=12.0)
    parser.add_argument("--recent-hours", type=float, default=6.0)
    parser.add_argument("--recent-gap-s", type=float, default=1200.0)
    parser.add_argument("--settle-s", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=300.0, help="per worker run (s)")
    parser.add_argument(
        "--store", default="auto", choices=["auto", "rocksdb", "memory"], help="table store"
    )
    parser.add_argument("--keep", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    factors = [int(f) for f in args.factors.split(",") if f.strip()]
    failures = 0
    previous: tuple[int, float] | None = None  # (factor, rss MB)
    for factor in factors:
        name = "worker_rss_full_reference" if factor == 1 else f"worker_rss_{factor}x_wards"
        with work_directory() as scratch:
            reference_dir = write_scaled_reference(scratch, factor) if factor != 1 else None
            reference = load_reference(reference_dir)
            try:
                measured = asyncio.run(
                    measure(
                        reference,
                        reference_dir,
                        shape=HistoryShape(
                            args.days, args.week_gap_h, args.recent_hours, args.recent_gap_s
                        ),
                        store=args.store,
                        settle_s=args.settle_s,
                        within=args.timeout,
                        keep=args.keep,
                    )
                )
            except Exception as exc:
                failures += 1
                result(name, None, "MB", None, None, error_extra(exc))
                continue
        rss_mb = measured["rss"] / MB
        if previous is None:
            baseline_name, baseline = "same worker idle (no ward state)", measured["idle"] / MB
        else:
            baseline_name, baseline = f"worker RSS with {previous[0]}x wards", previous[1]
        result(
            name,
            rss_mb,
            "MB",
            baseline_name,
            baseline,
            measured["extra"],
            settings=measured["settings"],
        )
        previous = (factor, rss_mb)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
