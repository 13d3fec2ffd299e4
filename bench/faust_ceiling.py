"""faust's own ceiling: a faust agent that only decodes and counts the events of a topic.

The second baseline of ``bench.worker_throughput`` (the first is a bare aiokafka consumer):
what faust and aiokafka cost before any capmon code runs, measured on the same topic in the
same run. Run by ``worker_throughput`` as a subprocess (faust wants a process of its own)::

    python -m bench.faust_ceiling --bootstrap HOST:PORT --topic T --events N --group G

Prints one line, ``{"events": N, "seconds": S}``: the time from the first round to the
round that completes the count. Uses ``take_events`` rounds like faust's documentation and
the same loop (uvloop) and serializers (raw bytes) as the worker.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import orjson


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.faust_ceiling", description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--group", required=True, help="faust app id (a fresh one per run)")
    parser.add_argument("--round", type=int, default=2000, help="messages per round at most")
    parser.add_argument("--datadir", default=None)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    import faust
    import uvloop
    from faust.worker import Worker

    uvloop.install()
    app = faust.App(
        args.group,
        broker=f"kafka://{args.bootstrap}",
        store="memory://",
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        datadir=args.datadir or f"/tmp/{args.group}",
        stream_buffer_maxsize=max(4096, 2 * args.round),
    )
    topic = app.topic(
        args.topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    state: dict[str, Any] = {"events": 0, "started": None}

    @app.agent(topic)
    async def count(stream: Any) -> None:
        async for events in stream.take_events(args.round, within=0.05):
            if state["started"] is None:
                state["started"] = time.perf_counter()
            for event in events:
                value = orjson.loads(event.message.value)
                state["events"] += len(value["events"]) if "events" in value else 1
            if state["events"] >= args.events:
                seconds = time.perf_counter() - state["started"]
                # straight to fd 1: faust's worker may have replaced sys.stdout by then
                os.write(1, orjson.dumps({"events": state["events"], "seconds": seconds}) + b"\n")
                os._exit(0)  # faust's shutdown takes seconds and measures nothing

    Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False).execute_from_commandline()
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
