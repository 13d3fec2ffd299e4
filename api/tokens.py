"""``capmon token``: issue, list and revoke API tokens.

    capmon token create --role national|region:01|referral|publisher:<hsa>|admin [--name NAME]
    capmon token list
    capmon token revoke TOKEN_ID

``create`` prints the token once; only its hash is stored.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from api.auth import TokenStore
from api.db import apply_api_schema, create_pool
from api.roles import InvalidRoleError, Role
from capmon.settings import Settings, get_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="capmon token", description="API tokens")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="issue a token (printed once)")
    create.add_argument(
        "--role",
        required=True,
        help="national | region:<code> | referral | publisher:<hsa> | admin",
    )
    create.add_argument("--name", default=None, help="who or what uses it (default: the role)")
    sub.add_parser("list", help="list tokens (never their values)")
    revoke = sub.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("token_id", type=int)
    return parser


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    pool = create_pool(settings, min_size=1, max_size=1)
    await pool.open(wait=True, timeout=15.0)
    try:
        async with pool.connection() as conn:
            await apply_api_schema(conn)
        store = TokenStore(pool, settings.token_pepper)
        if args.command == "create":
            role = Role.parse(args.role)
            token_id, token = await store.create(args.name or str(role), role)
            print(token)
            print(
                f"token {token_id} for role {role}: keep it secret; it is not shown again",
                file=sys.stderr,
            )
        elif args.command == "list":
            for info in await store.list_tokens():
                state = "revoked" if info.revoked_at else "active"
                print(
                    f"{info.token_id}\t{info.role}\t{info.name}\t"
                    f"{info.created_at.isoformat()}\t{state}"
                )
        else:
            if not await store.revoke(args.token_id):
                print(f"no active token {args.token_id}", file=sys.stderr)
                return 1
            print(f"token {args.token_id} revoked")
        return 0
    finally:
        await pool.close()


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "create":
        try:
            Role.parse(args.role)
        except InvalidRoleError as exc:
            print(f"capmon token: {exc}", file=sys.stderr)
            return 2
    return asyncio.run(_run(get_settings(), args))
