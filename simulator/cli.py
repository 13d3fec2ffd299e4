"""``capmon simulate``: Sweden's wards publishing bed events, live or as a load test.

Examples::

    capmon simulate --speed 60 --scenario major-incident      # the demo: a day in 24 min
    capmon simulate --speed 0 --duration 6h --truth-out t.json  # as fast as possible + truth
    capmon simulate --speed 0 --duration 7d --pregenerate --rate 200000   # load test
    capmon simulate --target http --token $TOKEN --speed 1    # through POST /api/v1/events

Start time (``--start``): an ISO time with offset, ``now``, or ``auto`` (default). Auto
puts the simulated period behind the wall clock so that no event is from the future
(the pipeline refuses those): a run of known ``--duration`` ends at about now; an open-ended
run at speed > 1 starts a day back, catches up after ``24h / speed`` and then runs in real
time (``--allow-future`` lets it run ahead instead).

Prints progress to stderr and one JSON line of statistics to stdout at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from capmon.settings import Settings, get_settings
from schemas.reference import load_reference
from simulator.clock import DAY, HOUR, from_epoch, parse_duration, parse_time, to_epoch
from simulator.ground_truth import GroundTruth
from simulator.model import Simulation
from simulator.pacing import Pacer
from simulator.publish import (
    FileSink,
    HttpSink,
    KafkaSink,
    MemorySink,
    PublishError,
    RunStats,
    Sink,
    pregenerate,
    publish_pregenerated,
    run,
)
from simulator.scenarios import SCENARIOS, ScenarioOptions
from streams.core.config import CoreConfig
from streams.topics import ensure_topics

TOKEN_ENV = "CAPMON_SIMULATOR_TOKEN"  # noqa: S105 - the name of a variable, not a secret


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="capmon simulate",
        description="Publish realistic hospital bed events from every ward in the reference data.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="scenarios:\n"
        + "\n".join(f"  {s.name:<16} {s.description}" for s in SCENARIOS.values()),
    )
    p.add_argument("--scenario", default="normal", choices=sorted(SCENARIOS))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", default="auto", help="ISO time with offset, 'now' or 'auto'")
    p.add_argument("--duration", type=parse_duration, help="simulated time, e.g. 6h, 7d")
    p.add_argument("--speed", type=float, default=60.0, help="x real time; 0 = as fast as possible")
    p.add_argument("--rate", type=float, help="at most this many events per second")
    p.add_argument("--batch-size", type=int, default=50, help="events per message (1 = single)")
    p.add_argument("--target", choices=("kafka", "http", "file", "null"), default="kafka")
    p.add_argument("--topic", help="Kafka topic (default: the settings' events topic)")
    p.add_argument("--url", help="HTTP ingest URL (default: the settings' API address)")
    p.add_argument("--token", help=f"bearer token for HTTP (default: ${TOKEN_ENV})")
    p.add_argument("--tokens-file", type=Path, help="JSON {hospital_id: token} for HTTP")
    p.add_argument("--out", default="-", help="file target: path, '-' for stdout")
    p.add_argument("--truth-out", type=Path, help="write the ground truth JSON here")
    p.add_argument("--truth-every", type=parse_duration, help="truth snapshots this often")
    p.add_argument("--regions", help="comma-separated region codes to simulate (default all)")
    p.add_argument("--incident-region", help="major-incident: region code")
    p.add_argument("--incident-after", type=parse_duration, default=HOUR)
    p.add_argument("--casualties", type=int)
    p.add_argument("--silent-hospital", help="silent-hospital: hospital id")
    p.add_argument("--silent-after", type=parse_duration, default=HOUR)
    p.add_argument("--bad-share", type=float, help="bad events per valid event (bad-input)")
    p.add_argument("--census-interval", type=parse_duration, default=900)
    p.add_argument("--heartbeat-interval", type=parse_duration, default=300, help="0 = none")
    p.add_argument("--burn-in", type=parse_duration, default=10 * DAY)
    p.add_argument("--pregenerate", action="store_true", help="generate first, then send")
    p.add_argument("--linger-ms", type=int, default=20)
    p.add_argument("--producers", type=int, default=2, help="Kafka producers (requests in flight)")
    p.add_argument("--compression", choices=("none", "gzip", "lz4", "zstd", "snappy"))
    p.add_argument("--allow-future", action="store_true", help="let simulated time pass now")
    p.add_argument("--reference", type=Path, help="reference data directory")
    p.add_argument("--quiet", action="store_true")
    return p


def resolve_start(text: str, *, speed: float, duration: int | None, now: float) -> int:
    """The simulated start time in epoch seconds (see the module doc for ``auto``)."""
    if text == "now":
        return int(now)
    if text != "auto":
        return to_epoch(parse_time(text))
    if speed == 0:
        return int(now) - (duration if duration is not None else DAY)
    if speed <= 1:
        return int(now)
    if duration is not None:
        return int(now - duration * (1 - 1 / speed))
    return int(now - DAY * (1 - 1 / speed))


def _sink(args: argparse.Namespace, settings: Settings) -> Sink:
    if args.target == "kafka":
        compression = None if args.compression in (None, "none") else args.compression
        return KafkaSink(
            settings,
            topic=args.topic,
            linger_ms=args.linger_ms,
            compression=compression,
            producers=args.producers,
        )
    if args.target == "http":
        url = args.url or f"http://{settings.api_host}:{settings.api_port}/api/v1/events"
        tokens: dict[str, str] = {}
        if args.tokens_file is not None:
            tokens = json.loads(args.tokens_file.read_text())
        token = args.token or os.environ.get(TOKEN_ENV)
        if not token and not tokens:
            raise SystemExit(f"capmon simulate: --target http needs --token or ${TOKEN_ENV}")
        return HttpSink(url, token=token, tokens=tokens)
    if args.target == "file":
        return FileSink(args.out)
    return MemorySink(keep=False)


def _progress(quiet: bool) -> Any:
    def report(stats: RunStats) -> None:
        if quiet:
            return
        sim_time = from_epoch(stats.sim_end).isoformat(timespec="seconds")
        print(
            f"simulate: {stats.events:,} events in {stats.messages:,} messages, "
            f"{stats.events / max(stats.wall_s, 1e-9):,.0f}/s, simulated time {sim_time}",
            file=sys.stderr,
            flush=True,
        )

    return report


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    now = time.time()
    start = resolve_start(args.start, speed=args.speed, duration=args.duration, now=now)
    if args.speed == 0 and args.duration is None:
        args.duration = DAY
    end = start + args.duration if args.duration is not None else None
    options = ScenarioOptions(
        incident_region=args.incident_region,
        incident_after_s=args.incident_after,
        casualties=args.casualties,
        silent_hospital=args.silent_hospital,
        silent_after_s=args.silent_after,
        bad_input_share=args.bad_share,
        lateness_s=settings.lateness_seconds,
        regions=tuple(r.strip() for r in args.regions.split(",")) if args.regions else (),
    )
    reference = load_reference(args.reference)
    sim = Simulation(
        reference,
        seed=args.seed,
        scenario=args.scenario,
        start=start,
        options=options,
        census_interval_s=args.census_interval,
        heartbeat_interval_s=args.heartbeat_interval,
        burn_in_days=args.burn_in / DAY,
    )
    truth: GroundTruth | None = None
    if args.truth_out is not None:
        times: list[int] = []
        if args.truth_every and end is not None:
            times = list(range(start + args.truth_every, end, args.truth_every))
        truth = GroundTruth(
            reference, config=CoreConfig.from_settings(settings), snapshot_times=times
        )
    pacer = Pacer(
        start=start,
        speed=args.speed,
        rate=args.rate,
        no_future=not args.allow_future and args.target in ("kafka", "http"),
    )
    sink = _sink(args, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    info = sim.info
    if not args.quiet:
        print(
            f"simulate: {args.scenario} seed {args.seed}, {len(sim.wards)} wards, "
            f"from {from_epoch(start).isoformat()} at speed {args.speed:g} to {args.target}"
            + (f"; incident in region {info.incident_region}" if info.incident_region else "")
            + (f"; {info.silent_hospital} falls silent" if info.silent_hospital else ""),
            file=sys.stderr,
            flush=True,
        )
    try:
        if isinstance(sink, KafkaSink) and args.topic is None:
            # Idempotent; with the partition counts the worker's tables expect.
            await ensure_topics(settings)
        await sink.start()
        if args.pregenerate:
            if end is None:
                raise SystemExit("capmon simulate: --pregenerate needs --duration")
            generating = time.perf_counter()
            chunks = pregenerate(sim, end)
            generate_s = time.perf_counter() - generating
            if truth is not None:
                for chunk in chunks:
                    truth.observe(chunk)
                truth.finish(sim.now)
            rate_pacer = Pacer(start=start, speed=0, rate=args.rate) if args.rate else None
            stats = await publish_pregenerated(
                chunks, sink, batch_size=args.batch_size, pacer=rate_pacer
            )
            stats.generate_s = generate_s
            stats.sim_start, stats.sim_end = start, sim.now
            stats.bad_events = sum(1 for c in chunks for e in c if e.rejected is not None)
        else:
            stats = await run(
                sim,
                sink,
                pacer=pacer,
                end=end,
                batch_size=args.batch_size,
                truth=truth,
                stop=stop,
                progress=_progress(args.quiet),
            )
    except PublishError as exc:
        print(f"capmon simulate: {exc}", file=sys.stderr)
        return 1
    finally:
        await sink.stop()
    if truth is not None:
        meta = {
            "seed": args.seed,
            "scenario": args.scenario,
            "start": from_epoch(start).isoformat(),
            "end": from_epoch(sim.now).isoformat(),
            "incident_region": info.incident_region,
            "silent_hospital": info.silent_hospital,
            "silent_from": from_epoch(info.silent_from).isoformat() if info.silent_from else None,
            "messages": stats.messages,
        }
        args.truth_out.write_bytes(json.dumps(truth.to_json(meta)).encode())
    summary = stats.to_json() | {
        "scenario": args.scenario,
        "seed": args.seed,
        "target": args.target,
        "incident_region": info.incident_region,
        "silent_hospital": info.silent_hospital,
    }
    if isinstance(sink, HttpSink):
        summary |= {"http_accepted": sink.accepted, "http_rejected": sink.rejected}
    if not (args.target == "file" and args.out == "-"):
        print(json.dumps(summary), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.speed < 0:
        print("capmon simulate: --speed must be >= 0", file=sys.stderr)
        return 2
    if args.batch_size < 1:
        print("capmon simulate: --batch-size must be >= 1", file=sys.stderr)
        return 2
    return asyncio.run(_main(args, get_settings()))


if __name__ == "__main__":
    raise SystemExit(main())
