"""Fetching the jars: skipped when the same pom fetched them, a clear error when Maven fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from capmon.stack import kafka_config as config
from capmon.stack.errors import StackError
from capmon.stack.kafka import KafkaBroker


def broker(tmp_path: Path, pom: Path) -> KafkaBroker:
    return KafkaBroker(
        data_dir=tmp_path / "data",
        port=1,
        controller_port=2,
        heap="64m",
        pom=pom,
        say=lambda _: None,
    )


@pytest.fixture
def pom(tmp_path: Path) -> Path:
    path = tmp_path / "pom.xml"
    path.write_text("<project/>")
    return path


def fake_mvn(directory: Path, script: str) -> None:
    directory.mkdir(exist_ok=True)
    mvn = directory / "mvn"
    mvn.write_text("#!/bin/sh\n" + script)
    mvn.chmod(0o755)


def test_jars_of_the_same_pom_are_not_fetched_again(
    tmp_path: Path, pom: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kafka = broker(tmp_path, pom)
    libs = kafka.layout.libs
    libs.mkdir(parents=True)
    (libs / "kafka_2.13-4.4.0.jar").write_bytes(b"")
    kafka.layout.pom_digest_file.write_text(config.pom_digest(pom.read_bytes()))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no mvn: must not be needed
    kafka.ensure_libs()
    assert kafka.version() == "4.4.0"


def test_a_changed_pom_fetches_into_a_fresh_directory(
    tmp_path: Path, pom: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kafka = broker(tmp_path, pom)
    kafka.layout.libs.mkdir(parents=True)
    (kafka.layout.libs / "kafka_2.13-4.1.1.jar").write_bytes(b"")
    kafka.layout.pom_digest_file.write_text("old digest")
    bin_dir = tmp_path / "bin"
    # Like `mvn dependency:copy-dependencies -DoutputDirectory=<dir>`: the last argument.
    fake_mvn(
        bin_dir,
        'for a; do out="${a#-DoutputDirectory=}"; done\n: > "$out/kafka_2.13-4.4.0.jar"\n',
    )
    monkeypatch.setenv("PATH", str(bin_dir))
    kafka.ensure_libs()
    assert sorted(p.name for p in kafka.layout.libs.glob("*.jar")) == ["kafka_2.13-4.4.0.jar"]
    assert kafka.layout.pom_digest_file.read_text().strip() == config.pom_digest(pom.read_bytes())


def test_a_failed_fetch_shows_the_maven_output(
    tmp_path: Path, pom: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    fake_mvn(bin_dir, 'echo "[ERROR] Could not transfer artifact from central"\nexit 1\n')
    monkeypatch.setenv("PATH", str(bin_dir))
    kafka = broker(tmp_path, pom)
    with pytest.raises(StackError, match=r"(?s)exit 1.*Could not transfer artifact"):
        kafka.ensure_libs()
    assert not kafka.layout.libs.exists()


def test_missing_maven_is_a_clear_error(
    tmp_path: Path, pom: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(StackError, match="Maven"):
        broker(tmp_path, pom).ensure_libs()
