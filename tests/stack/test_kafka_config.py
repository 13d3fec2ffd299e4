from __future__ import annotations

from pathlib import Path

import pytest

from capmon.stack import kafka_config as config


def props(text: str) -> dict[str, str]:
    return config.parse_properties(text)


def test_server_properties_make_one_kraft_node() -> None:
    rendered = props(
        config.render_server_properties(
            port=19092, controller_port=19093, log_dirs=Path("/data/kafka/data")
        )
    )
    assert rendered["process.roles"] == "broker,controller"
    assert rendered["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert rendered["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert rendered["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert rendered["log.dirs"] == "/data/kafka/data"
    assert rendered["auto.create.topics.enable"] == "false"
    assert rendered["group.initial.rebalance.delay.ms"] == "0"


@pytest.mark.parametrize(
    "key",
    [
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "default.replication.factor",
        "min.insync.replicas",
    ],
)
def test_everything_replicated_has_one_replica(key: str) -> None:
    rendered = props(
        config.render_server_properties(port=1, controller_port=2, log_dirs=Path("/x"))
    )
    assert rendered[key] == "1"


def test_advertised_bootstrap_reads_the_rendered_file() -> None:
    text = config.render_server_properties(port=29092, controller_port=29093, log_dirs=Path("/x"))
    assert config.advertised_bootstrap(props(text)) == "127.0.0.1:29092"
    assert config.advertised_bootstrap({}) is None


def test_log4j_writes_to_the_given_file() -> None:
    text = config.render_log4j2(Path("/data/logs/kafka.log"))
    assert "appender.file.fileName = /data/logs/kafka.log" in text
    assert "rootLogger.appenderRef.file.ref = FILE" in text


def test_parse_properties_skips_comments_and_keeps_equals_in_values() -> None:
    text = "# comment\n! also\n\ncluster.id = abc=def\nnode.id=1\nnot a property\n"
    assert config.parse_properties(text) == {"cluster.id": "abc=def", "node.id": "1"}


def test_cluster_id_is_22_url_safe_characters() -> None:
    cluster_id = config.new_cluster_id(lambda n: bytes(range(n)))
    assert cluster_id == "AAECAwQFBgcICQoLDA0ODw"
    assert len(config.new_cluster_id()) == 22


def test_cluster_id_never_starts_with_a_dash() -> None:
    # 0xF8 encodes to '-' first in URL-safe base64; Kafka draws again, so do we.
    draws = iter([b"\xf8" * 16, b"\x00" * 16])
    assert config.new_cluster_id(lambda n: next(draws)) == "AAAAAAAAAAAAAAAAAAAAAA"


def test_kafka_version_from_jar_names() -> None:
    names = ["kafka-clients-4.4.0.jar", "kafka_2.13-4.4.0.jar", "scala-library-2.13.18.jar"]
    assert config.kafka_version(names) == "4.4.0"
    assert config.kafka_version(["kafka-clients-4.4.0.jar"]) is None


def test_pom_digest_changes_with_the_pom() -> None:
    assert config.pom_digest(b"<a/>") == config.pom_digest(b"<a/>")
    assert config.pom_digest(b"<a/>") != config.pom_digest(b"<b/>")


def test_server_command_runs_the_broker_with_our_logging_and_heap() -> None:
    command = config.server_command(
        java=Path("/usr/bin/java"),
        heap="768m",
        libs=Path("/d/kafka/libs"),
        log4j_config=Path("/d/kafka/log4j2.properties"),
        server_properties=Path("/d/kafka/server.properties"),
    )
    assert command[0] == "/usr/bin/java"
    assert "-Xmx768m" in command
    assert "-Dlog4j2.configurationFile=/d/kafka/log4j2.properties" in command
    assert command[command.index("-cp") + 1] == "/d/kafka/libs/*"
    assert command[-2:] == ["kafka.Kafka", "/d/kafka/server.properties"]


def test_format_command_uses_the_static_quorum_not_standalone() -> None:
    command = config.format_command(
        java=Path("java"),
        libs=Path("/l"),
        log4j_config=Path("/l4j"),
        server_properties=Path("/s.properties"),
        cluster_id="abc",
    )
    assert command[-6:] == ["kafka.tools.StorageTool", "format", "-t", "abc", "-c", "/s.properties"]
    assert "--standalone" not in command


def test_fetch_command_copies_dependencies_into_the_output_dir() -> None:
    command = config.fetch_command(mvn=Path("mvn"), pom=Path("/p/pom.xml"), output_dir=Path("/o"))
    assert command[:3] == ["mvn", "-q", "-B"]
    assert "dependency:copy-dependencies" in command
    assert "-DoutputDirectory=/o" in command
    assert command[command.index("-f") + 1] == "/p/pom.xml"


def test_layout_keeps_everything_under_the_data_dir() -> None:
    layout = config.KafkaLayout(Path("/d"))
    paths = [
        layout.libs,
        layout.log_dirs,
        layout.meta_properties,
        layout.server_properties,
        layout.pid_file,
        layout.log_file,
        layout.console_file,
    ]
    assert all(path.is_relative_to("/d") for path in paths)
    assert layout.log_file == Path("/d/logs/kafka.log")


def test_strip_ansi() -> None:
    assert config.strip_ansi("\x1b[0m[ERROR] x\x1b[1;31m y\x1b[m") == "[ERROR] x y"
