"""The rules of tests/fixtures/stack.py that do not need the stack running."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict
from pydantic import SecretStr

from capmon.settings import Settings
from tests.fixtures.stack import (
    TEST_DATA_DIR,
    TEST_KAFKA_PORT,
    TEST_POSTGRES_PORT,
    _full_names,
    database_url_for,
    shared_stack_settings,
)


def test_an_unmarked_test_cannot_reach_the_stack(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_sneaky(kafka_bootstrap):
            raise AssertionError("must not get here")
        """
    )
    result = pytester.runpytest_inprocess("-p", "tests.fixtures.stack", "-p", "no:asyncio")
    result.assert_outcomes(errors=1)  # fails in setup, before any fixture runs
    result.stdout.fnmatch_lines(["*is not marked @pytest.mark.integration*"])


def test_the_shared_test_stack_is_not_the_demo_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAPMON_TEST_DATABASE_URL", raising=False)
    settings = shared_stack_settings()
    demo = Settings.model_fields
    assert settings.data_dir == TEST_DATA_DIR
    assert settings.kafka_port == TEST_KAFKA_PORT != demo["kafka_port"].default
    assert settings.postgres_port == TEST_POSTGRES_PORT != demo["postgres_port"].default
    assert settings.database_url is None


def test_an_external_test_database_replaces_the_local_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAPMON_TEST_DATABASE_URL", "postgresql://u:p@db/x")
    assert shared_stack_settings().database_url == SecretStr("postgresql://u:p@db/x")


def test_database_url_for_urls_and_keyword_strings() -> None:
    assert database_url_for("postgresql://u@h:1/capmon", "t1") == "postgresql://u@h:1/t1"
    keywords = database_url_for("host=h port=1 dbname=capmon", "t1")
    assert conninfo_to_dict(keywords) == {"host": "h", "port": "1", "dbname": "t1"}


def test_topic_names_get_the_prefix_once() -> None:
    settings = Settings(topic_prefix="t-1234abcd.")
    assert _full_names(settings, ["capmon.events", settings.topic("capmon.alerts")]) == [
        "t-1234abcd.capmon.events",
        "t-1234abcd.capmon.alerts",
    ]
