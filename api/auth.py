"""Bearer tokens: hashed storage in PostgreSQL, a short lookup cache, FastAPI dependencies.

A token is ``cm_`` + 32 random bytes (URL-safe base64). Only HMAC-SHA256(token_pepper,
token) is stored, so a copy of the database does not hold usable credentials and the
pepper (a setting, not in the database) is needed to even test a guess.

Errors are JSON: 401 ``{"error": "unauthorized", "detail": ...}`` with
``WWW-Authenticate: Bearer`` when no valid token was given, 403 ``{"error": "forbidden",
"detail": ...}`` when the token's role may not do what was asked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Protocol

from fastapi import Depends, Request
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from pydantic import SecretStr

from api.errors import ApiError
from api.roles import InvalidRoleError, Principal, Role

TOKEN_PREFIX = "cm_"  # noqa: S105 - a marker, not a secret
_MAX_TOKEN_LENGTH = 200


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str, pepper: SecretStr) -> str:
    key = pepper.get_secret_value().encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenInfo:
    token_id: int
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None


class TokenLookup(Protocol):
    async def lookup(self, token: str) -> Principal | None: ...


class TokenStore:
    """Tokens in ``api_tokens``; lookups cached for ``cache_ttl_s`` (a revoked token keeps
    working at most that long on a replica that had just seen it)."""

    def __init__(
        self, pool: AsyncConnectionPool, pepper: SecretStr, *, cache_ttl_s: float = 30.0
    ) -> None:
        self._pool = pool
        self._pepper = pepper
        self._ttl = cache_ttl_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def create(self, name: str, role: Role) -> tuple[int, str]:
        token = new_token()
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO api_tokens (name, role, token_hash) VALUES (%s, %s, %s)"
                " RETURNING token_id",
                (name, str(role), hash_token(token, self._pepper)),
            )
            row = await cur.fetchone()
        assert row is not None
        return int(row[0]), token

    async def list_tokens(self) -> list[TokenInfo]:
        async with self._pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "SELECT token_id, name, role, created_at, revoked_at FROM api_tokens"
                " ORDER BY token_id"
            )
            rows = await cur.fetchall()
        return [TokenInfo(**row) for row in rows]

    async def revoke(self, token_id: int) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE api_tokens SET revoked_at = now()"
                " WHERE token_id = %s AND revoked_at IS NULL",
                (token_id,),
            )
        self._cache.clear()
        return cur.rowcount == 1

    async def lookup(self, token: str) -> Principal | None:
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            return None
        digest = hash_token(token, self._pepper)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT token_id, name, role FROM api_tokens"
                " WHERE token_hash = %s AND revoked_at IS NULL",
                (digest,),
            )
            row = await cur.fetchone()
        principal: Principal | None = None
        if row is not None:
            try:
                principal = Principal(name=row[1], role=Role.parse(row[2]), token_id=row[0])
            except InvalidRoleError:
                principal = None
        if len(self._cache) > 10_000:
            self._cache.clear()  # bounded: a flood of random tokens cannot grow it
        self._cache[digest] = (now + self._ttl, principal)
        return principal


class StaticTokens:
    """Tokens held in memory (tests and benchmarks without a database)."""

    def __init__(self, tokens: dict[str, Principal] | None = None) -> None:
        self.tokens = dict(tokens or {})

    async def lookup(self, token: str) -> Principal | None:
        return self.tokens.get(token)


# --- FastAPI dependencies ------------------------------------------------------------------
# Flat on purpose: each level of FastAPI's dependency tree costs tens of microseconds per
# request, and the free-capacity search is answered hundreds of times a second. The bearer
# scheme is declared in OpenAPI by ``api.server`` instead of by an ``HTTPBearer`` dependency.

BEARER_SCHEME = "bearer"


async def authenticate(request: Request) -> Principal:
    """The caller of ``request``: ``Authorization: Bearer <token>``, or ``?token=``."""
    header = request.headers.get("authorization")
    token: str | None = None
    if header is not None:
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            token = credentials.strip()
    if token is None:
        # Browsers cannot set headers on a page load; the UI passes ?token= once.
        token = request.query_params.get("token")
    if not token:
        raise ApiError.unauthorized("missing bearer token (Authorization: Bearer <token>)")
    try:
        lookup: TokenLookup = request.app.state.services.tokens
        principal = await lookup.lookup(token)
    except Exception as exc:
        raise ApiError.unavailable("token store unreachable") from exc
    if principal is None:
        raise ApiError.unauthorized("unknown or revoked token")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def requires(
    allowed: Callable[[Role], bool], what: str
) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that lets through only principals whose role passes ``allowed``."""

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if not allowed(principal.role):
            raise ApiError.forbidden(f"role {principal.role} may not {what}")
        return principal

    return dependency
