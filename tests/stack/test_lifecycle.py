"""``capmon stack up`` twice, ``status``, ``down``, ``status``, ``up`` again, same data.

A private stack on free ports in a temporary directory, so the shared test stack that
other sessions use is never touched. The jars are copied from the shared test stack
when it has them, so this does not fetch from Maven Central again.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from capmon.settings import get_settings
from capmon.stack import cli
from capmon.stack.kafka_config import KafkaLayout, parse_properties
from capmon.stack.postgres_config import local_database_url
from capmon.stack.stack import Stack
from tests.fixtures.stack import TEST_DATA_DIR, run_sync

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def argv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    data_dir = tmp_path / "stack"
    shared_libs = KafkaLayout(TEST_DATA_DIR).libs
    if (shared_libs / ".pom-sha256").exists():
        shutil.copytree(shared_libs, KafkaLayout(data_dir).libs)
    monkeypatch.delenv("CAPMON_DATABASE_URL", raising=False)
    monkeypatch.setenv("CAPMON_KAFKA_HEAP", "384m")
    get_settings.cache_clear()
    args = [
        "--data-dir",
        str(data_dir),
        "--kafka-port",
        str(free_port()),
        "--kafka-controller-port",
        str(free_port()),
        "--postgres-port",
        str(free_port()),
    ]
    yield args
    # Whatever happened, leave nothing running.
    cli.main(["down", *args])
    get_settings.cache_clear()


def pids(argv: list[str]) -> dict[str, int | None]:
    settings = cli._settings(cli._parser().parse_args(["status", *argv]))
    return {s.name: s.pid for s in Stack(settings, say=lambda _: None).status()}


async def create_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1)])
    finally:
        await admin.close()


async def list_topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return list(await admin.list_topics())
    finally:
        await admin.close()


def test_up_is_idempotent_and_down_up_keeps_the_data(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = Path(argv[1])
    bootstrap = f"127.0.0.1:{argv[3]}"
    database_url = local_database_url(int(argv[7]))

    assert cli.main(["up", *argv]) == 0
    first = pids(argv)
    assert all(first.values()), first

    assert cli.main(["up", *argv]) == 0
    assert "already running" in capsys.readouterr().out
    assert pids(argv) == first

    assert cli.main(["status", *argv]) == 0
    cluster_id = parse_properties(KafkaLayout(data_dir).meta_properties.read_text())["cluster.id"]
    run_sync(lambda: create_topic(bootstrap, "kept"))
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE kept (x integer)")
        conn.execute("INSERT INTO kept VALUES (42)")

    assert cli.main(["down", *argv]) == 0
    assert cli.main(["status", *argv]) == cli.EXIT_NOT_RUNNING
    assert all(pid is None for pid in pids(argv).values())
    for pid in first.values():
        assert pid is not None
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert cli.main(["down", *argv]) == 0  # nothing left to stop: still fine

    assert cli.main(["up", *argv]) == 0
    assert cli.main(["status", *argv]) == 0
    meta = parse_properties(KafkaLayout(data_dir).meta_properties.read_text())
    assert meta["cluster.id"] == cluster_id, "storage must not be formatted again"
    assert "kept" in run_sync(lambda: list_topics(bootstrap))
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT x FROM kept").fetchall() == [(42,)]
