"""``capmon worker``: run the faust stream worker in the foreground.

Several workers with the same settings form one consumer group and split the partitions.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from capmon.settings import get_settings
from streams.topics import ensure_topics


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="capmon worker", description=__doc__)
    parser.add_argument(
        "--loglevel", default="warn", choices=["crit", "error", "warn", "info", "debug"]
    )
    args = parser.parse_args(argv)
    settings = get_settings()
    # Topics first: faust must never auto-create a source topic with the broker default.
    asyncio.run(ensure_topics(settings))

    from faust.worker import Worker  # heavy import, after argument errors are reported

    from streams.app import build_app

    app = build_app(settings)
    logging.captureWarnings(True)
    worker = Worker(app, loglevel=args.loglevel, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()  # exits the process when the worker stops
    return 0
