"""docker-compose.yml agrees with the code: services, ports, and CAPMON_* variables.

Docker cannot run here, so this is the check that the file is not out of date.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from capmon.cli import COMMANDS
from capmon.settings import REPO_ROOT, Settings

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
CAPMON_SERVICES = {"migrate", "topics", "worker", "sink", "maintain", "api", "simulator"}
INFRASTRUCTURE = {"kafka", "timescaledb"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the `- KEY=value` form
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def default(field: str) -> Any:
    return Settings.model_fields[field].default


def published(service: dict[str, Any]) -> dict[int, int]:
    """container port -> host port, from ``[ip:]host:container`` entries."""
    mapping: dict[int, int] = {}
    for entry in service.get("ports", []):
        *_, host, container = str(entry).split(":")
        mapping[int(container)] = int(host)
    return mapping


def test_service_names(compose: dict[str, Any]) -> None:
    assert set(services(compose)) == CAPMON_SERVICES | INFRASTRUCTURE


def test_capmon_services_run_capmon_commands_from_one_image(compose: dict[str, Any]) -> None:
    for name in CAPMON_SERVICES:
        service = services(compose)[name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile", name
        assert service["command"][0] in COMMANDS, name
    assert (REPO_ROOT / "deploy" / "Dockerfile").is_file()


def test_every_capmon_variable_is_a_setting(compose: dict[str, Any]) -> None:
    seen = 0
    for name, service in services(compose).items():
        for key in environment(service):
            if key.startswith("CAPMON_"):
                seen += 1
                field = key.removeprefix("CAPMON_").lower()
                assert field in Settings.model_fields, f"{name}: {key} is not a Settings field"
    assert seen > 0


@pytest.mark.parametrize("name", sorted(CAPMON_SERVICES))
def test_capmon_environment_is_valid_settings(compose: dict[str, Any], name: str) -> None:
    env = environment(services(compose)[name])
    values = {
        k.removeprefix("CAPMON_").lower(): v for k, v in env.items() if k.startswith("CAPMON_")
    }
    settings = Settings.model_validate(values)
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.database_url is not None


def test_api_port_matches_the_settings_and_the_published_port(compose: dict[str, Any]) -> None:
    api = services(compose)["api"]
    env = environment(api)
    port = int(env.get("CAPMON_API_PORT", default("api_port")))
    assert port == default("api_port")
    assert published(api) == {port: port}
    assert env["CAPMON_API_HOST"] == "0.0.0.0"  # reachable from outside the container
    assert f":{port}/healthz" in " ".join(api["healthcheck"]["test"])


def test_kafka_listeners_match_the_capmon_bootstrap(compose: dict[str, Any]) -> None:
    kafka = services(compose)["kafka"]
    env = environment(kafka)
    advertised = env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    bootstrap = environment(services(compose)["worker"])["CAPMON_KAFKA_BOOTSTRAP_SERVERS"]
    assert f"PLAINTEXT://{bootstrap}" in advertised
    # From the host, the broker answers where the local stack's does.
    assert published(kafka) == {default("kafka_port"): default("kafka_port")}
    assert f"HOST://localhost:{default('kafka_port')}" in advertised
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def test_kafka_image_is_the_version_of_the_local_stack(compose: dict[str, Any]) -> None:
    pom = (REPO_ROOT / "deploy" / "kafka" / "pom.xml").read_text()
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom)
    assert match is not None
    assert services(compose)["kafka"]["image"] == f"apache/kafka:{match.group(1)}"


def test_database_url_matches_timescaledb(compose: dict[str, Any]) -> None:
    db = services(compose)["timescaledb"]
    assert db["image"].startswith("timescale/timescaledb:")
    env = environment(db)
    url = urlsplit(environment(services(compose)["sink"])["CAPMON_DATABASE_URL"])
    assert url.hostname == "timescaledb"
    assert url.port == 5432
    assert url.username == env["POSTGRES_USER"]
    assert url.password == env["POSTGRES_PASSWORD"]
    assert url.path == f"/{env['POSTGRES_DB']}"
    assert published(db) == {5432: default("postgres_port")}


def test_dependencies_name_existing_services(compose: dict[str, Any]) -> None:
    names = set(services(compose))
    for name, service in services(compose).items():
        for dependency in service.get("depends_on", {}):
            assert dependency in names, f"{name} depends on unknown {dependency}"
