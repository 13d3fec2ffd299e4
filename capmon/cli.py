"""The ``capmon`` command: one entry point, sub-commands dispatched lazily.

Each sub-command lives in the package that owns it and exposes ``main(argv) -> int``;
importing lazily keeps ``capmon stack status`` from paying for faust or FastAPI.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

# name -> (module, help)
COMMANDS: dict[str, tuple[str, str]] = {
    "stack": ("capmon.stack.cli", "local Kafka + PostgreSQL: up | down | status"),
    "migrate": ("store.migrate", "apply SQL migrations to the history store"),
    "maintain": ("store.maintenance", "create partitions ahead, drop expired ones"),
    "worker": ("streams.worker", "run the faust stream worker"),
    "sink": ("store.sink", "run the history sink (output topics -> database)"),
    "api": ("api.server", "run the HTTP/WebSocket API and UI"),
    "token": ("api.tokens", "issue and list API tokens"),
    "simulate": ("simulator.cli", "publish realistic hospital events"),
    "schemas": ("schemas.generate", "regenerate JSON Schema files and check examples"),
    "topics": ("streams.topics", "create the Kafka topics up front"),
    "demo": ("capmon.demo", "run the whole live demo"),
    "bench": ("bench.runner", "run all benchmarks and write the results file"),
}


def _usage() -> str:
    lines = ["usage: capmon <command> [args...]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(_usage())
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"capmon: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    entry: Callable[[list[str]], int] = module.main
    return entry(rest)


if __name__ == "__main__":
    raise SystemExit(main())
