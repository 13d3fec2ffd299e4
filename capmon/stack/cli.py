"""``capmon stack up | down | status``: the local Kafka and PostgreSQL."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from capmon.settings import Settings, get_settings
from capmon.stack.errors import StackError
from capmon.stack.stack import Stack

EXIT_ERROR = 1
EXIT_NOT_RUNNING = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="capmon stack",
        description="Run a local Apache Kafka broker (KRaft) and PostgreSQL without Docker. "
        "Defaults come from CAPMON_* settings.",
    )
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--data-dir", type=Path, help="jars, data and logs (CAPMON_DATA_DIR)")
    parser.add_argument("--kafka-port", type=int, help="broker port (CAPMON_KAFKA_PORT)")
    parser.add_argument(
        "--kafka-controller-port",
        type=int,
        help="KRaft controller port (CAPMON_KAFKA_CONTROLLER_PORT)",
    )
    parser.add_argument("--postgres-port", type=int, help="PostgreSQL port (CAPMON_POSTGRES_PORT)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        "data_dir": args.data_dir,
        "kafka_port": args.kafka_port,
        "kafka_controller_port": args.kafka_controller_port,
        "postgres_port": args.postgres_port,
    }
    return get_settings().model_copy(
        update={key: value for key, value in overrides.items() if value is not None}
    )


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    settings = _settings(args)
    stack = Stack(settings)
    try:
        if args.action == "up":
            return _up(stack, settings)
        if args.action == "down":
            stopped = stack.down()
            print(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")
            return 0
        return _status(stack)
    except StackError as exc:
        print(f"capmon stack {args.action}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"capmon stack {args.action}: interrupted", file=sys.stderr)
        return 130


def _up(stack: Stack, settings: Settings) -> int:
    started = time.monotonic()
    info = stack.up()
    print(f"stack up in {time.monotonic() - started:.1f}s; data, logs and jars in {stack.data_dir}")
    for service in info.services:
        print(f"  {service.line()}")
    if settings.kafka_bootstrap_servers != info.kafka_bootstrap:
        print(
            "other capmon commands need: "
            f"export CAPMON_KAFKA_BOOTSTRAP_SERVERS={info.kafka_bootstrap}"
        )
    return 0


def _status(stack: Stack) -> int:
    services = stack.status()
    for service in services:
        print(service.line())
    return 0 if all(service.ok for service in services) else EXIT_NOT_RUNNING
