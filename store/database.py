"""Where the history database is, and connections to it."""

from __future__ import annotations

from capmon.settings import Settings


def database_url(settings: Settings) -> str:
    """``CAPMON_DATABASE_URL``, or the embedded PostgreSQL of the local stack when unset."""
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    from capmon.stack.postgres_config import local_database_url

    return local_database_url(settings.postgres_port)


def redacted(url: str) -> str:
    """``url`` without its password, for logs."""
    from capmon.stack.postgres_config import redact_url

    return redact_url(url)
