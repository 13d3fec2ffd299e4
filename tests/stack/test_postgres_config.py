from __future__ import annotations

from pathlib import Path

import pytest

from capmon.stack import postgres_config as config

POSTMASTER_PID = """\
11012
/data/postgres
1795459000
35432

127.0.0.1
  8826964     65536
ready
"""


def test_parse_postmaster_pid() -> None:
    info = config.parse_postmaster_pid(POSTMASTER_PID)
    assert info == config.PostmasterPid(
        pid=11012, pgdata="/data/postgres", port=35432, status="ready"
    )


def test_parse_postmaster_pid_while_starting() -> None:
    # The status line appears only once the server is up.
    info = config.parse_postmaster_pid("11012\n/data/postgres\n1795459000\n35432\n")
    assert info is not None
    assert info.status == ""


@pytest.mark.parametrize("text", ["", "not a pid\n", "\n/data\n"])
def test_parse_postmaster_pid_rejects_garbage(text: str) -> None:
    assert config.parse_postmaster_pid(text) is None


def test_conf_listens_on_loopback_tcp_only() -> None:
    conf = config.render_conf(25432)
    assert "listen_addresses = '127.0.0.1'" in conf
    assert "port = 25432" in conf
    assert "unix_socket_directories = ''" in conf


def test_initdb_makes_the_capmon_superuser_with_trust_auth() -> None:
    args = config.initdb_args(Path("/d/postgres"))
    assert args[:4] == ["-D", "/d/postgres", "-U", "capmon"]
    assert "--auth-host=trust" in args


def test_pg_ctl_does_not_wait_itself() -> None:
    assert config.pg_ctl_start_args(Path("/p"), Path("/l")) == [
        "-D",
        "/p",
        "-l",
        "/l",
        "-W",
        "start",
    ]


def test_local_database_url() -> None:
    assert config.local_database_url(15432) == "postgresql://capmon@127.0.0.1:15432/capmon"
    assert config.local_database_url(1, "x") == "postgresql://capmon@127.0.0.1:1/x"


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("postgresql://u:secret@db:5432/x", "postgresql://u:***@db:5432/x"),
        ("postgresql://u:secret@db/x?sslmode=require", "postgresql://u:***@db/x?sslmode=require"),
        ("postgresql://u@db/x", "postgresql://u@db/x"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert config.redact_url(url) == redacted


def test_with_database_keeps_server_and_options() -> None:
    url = "postgresql://u:pw@db:5432/capmon?sslmode=require"
    assert config.with_database(url, "capmon_t_1") == (
        "postgresql://u:pw@db:5432/capmon_t_1?sslmode=require"
    )
    with pytest.raises(ValueError, match="postgresql"):
        config.with_database("host=db dbname=x", "y")
