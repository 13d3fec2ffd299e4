"""Benchmark: decoding and validating inbound messages, µs per event, no Kafka.

The stream's path (``decode_stream_message``: msgspec mirrors with the pydantic contract
behind them) against the contract's own (``decode_message``: pydantic), on the same
realistic messages (``bench._events``), with a bare ``orjson.loads`` of the same bytes as
the same-run baseline. Best of ``--rounds`` each, alternating, because a shared machine
drifts. Prints one JSON line per batch size::

    python -m bench.decode_throughput [--sizes 50,1] [--events 20000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from bench._events import Message, hospital_events, to_messages
from bench.common import result
from capmon.settings import Settings
from schemas.reference import ReferenceData, load_reference
from schemas.validation import ValidationLimits, decode_message, decode_stream_message

BASELINE = "orjson.loads of the same bytes"


def per_event_us(run: Callable[[], object], events: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best / events * 1e6


def measure(reference: ReferenceData, messages: list[Message], rounds: int) -> dict[str, float]:
    limits = ValidationLimits.from_settings(Settings())
    now = datetime.now(UTC)
    keyed = [(m.value, m.key.decode()) for m in messages]
    events = sum(m.events for m in messages)
    stream = decode_stream_message
    model = decode_message

    def run_stream() -> None:
        for raw, key in keyed:
            stream(raw, reference=reference, limits=limits, now=now, hospital_id=key)

    def run_model() -> None:
        for raw, key in keyed:
            model(raw, reference=reference, limits=limits, now=now, hospital_id=key)

    def run_orjson() -> None:
        for raw, _ in keyed:
            orjson.loads(raw)

    accepted = sum(
        len(stream(raw, reference=reference, limits=limits, now=now, hospital_id=key).accepted)
        for raw, key in keyed
    )
    if accepted != events:
        raise RuntimeError(f"{events - accepted} of {events} generated events were rejected")
    figures = {"stream": 0.0, "model": 0.0, "orjson": 0.0}
    for name, run in (("stream", run_stream), ("model", run_model), ("orjson", run_orjson)):
        figures[name] = per_event_us(run, events, rounds)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.decode_throughput", description=__doc__)
    parser.add_argument("--sizes", default="50,1")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    reference = load_reference()
    per_hospital = hospital_events(reference, args.events, end=int(time.time()) - 60, seed=1)
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        figures = measure(reference, to_messages(per_hospital, size), args.rounds)
        result(
            f"decode_stream_{size}_per_message",
            figures["stream"],
            "µs/event",
            BASELINE,
            figures["orjson"],
            {"events_per_message": size, "pydantic_decode_message_us": round(figures["model"], 2)},
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
