"""Fuzz the REST and ingest endpoints from the OpenAPI spec: nothing may answer 5xx (other
than a documented 503), and every answer must match its documented schema.

Runs against an API on the real Kafka and PostgreSQL, started once for the module in a
thread of its own (schemathesis calls it synchronously over HTTP)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
import schemathesis
import schemathesis.checks
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from psycopg import sql
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.core.result import Err
from schemathesis.schemas import APIOperation

from api.server import create_app
from capmon.settings import Settings
from store.migrate import migrate
from tests.api import factories as f
from tests.api.servers import free_port
from tests.api.stack_support import issue_tokens, make_topics, produce
from tests.fixtures.stack import (
    StackEndpoints,
    database_url_for,
    delete_prefixed_topics,
    run_sync,
)
from tests.fixtures.waiting import wait_for

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class FuzzTarget:
    url: str
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def fuzz_target(stack: StackEndpoints) -> Iterator[FuzzTarget]:
    database = f"capmon_fuzz_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(stack.admin_database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    test_settings = Settings(
        environment="test",
        topic_prefix=f"t-{uuid.uuid4().hex[:8]}.",
        kafka_bootstrap_servers=stack.kafka_bootstrap,
        database_url=SecretStr(database_url_for(stack.admin_database_url, database)),
    )
    migrate(database_url_for(stack.admin_database_url, database))  # the history tables
    run_sync(lambda: make_topics(test_settings))
    tokens = run_sync(lambda: issue_tokens(test_settings))
    wards = f.wards_of(f.KAROLINSKA, 3)
    run_sync(
        lambda: produce(
            test_settings,
            [
                f.rollup("nation"),
                f.rollup("region:01"),
                f.rollup(f"hospital:{f.KAROLINSKA}"),
                *[f.ward_state(w) for w in wards],
                f.alert("region:01", "01"),
            ],
        )
    )
    app = create_app(test_settings, reference=f.reference(), targets=f.targets())
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: server.started, timeout=30, what="the fuzzed API to start")
        wait_for(
            lambda: httpx.get(f"{url}/readyz").status_code == 200,
            timeout=60,
            what="the fuzzed API to be ready",
        )
        yield FuzzTarget(url, tokens)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        run_sync(lambda: delete_prefixed_topics(test_settings))
        with psycopg.connect(stack.admin_database_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )


CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.content_type_conformance,
]


def _describe(exc: BaseException) -> str:
    """The failure itself, also when hypothesis reports it as flaky (state changed between
    runs): its first sub-exception holds schemathesis' report."""
    inner = getattr(exc, "exceptions", None)
    if inner:
        return "; ".join(_describe(e) for e in inner[:2])
    return f"{type(exc).__name__}: {exc}"


def _operations(url: str) -> list[APIOperation[Any, Any, Any, Any]]:
    loaded = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = []
    for result in loaded.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # the spec itself is broken
        operations.append(result.ok())
    return operations


# schemathesis' own strategies use `random` (its code, not ours): that one warning only.
@pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(fuzz_target: FuzzTarget, mode: GenerationMode) -> None:
    """Every operation, valid and invalid input. (Schemathesis' own pytest integration,
    ``from_fixture``, does not run on pytest 9; the loop below is what it would do.)"""
    # The admin reaches every route's deepest code, ingest included.
    headers = {"Authorization": f"Bearer {fuzz_target.tokens['admin']}"}
    failures: list[str] = []
    for operation in _operations(fuzz_target.url):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=20,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
        )
        def exercise(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(base_url=fuzz_target.url, headers=headers, checks=CHECKS)

        try:
            exercise()
        except Unsatisfiable:
            continue  # nothing to make invalid (an operation without parameters)
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {_describe(exc)}"[:4000])
    assert not failures, "\n\n".join(failures)
