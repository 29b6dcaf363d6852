"""Create accounts, issue and check API keys. Keys are random tokens; only their SHA-256 is kept
(a 256-bit random token needs no slow hash: nothing can be guessed from its digest)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from crmbatch.core import clock
from crmbatch.core.accounts import store
from crmbatch.core.errors import Conflict, CrmError, NotFound, Unauthorized
from crmbatch.core.schema.service import ensure_system_types

KEY_PREFIX = "crm_"
ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True)
class Account:
    id: int
    name: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    return token, token[: len(KEY_PREFIX) + 8]


def create_account(conn: Connection, name: str) -> tuple[Account, str]:
    """A new account with the system types and a first API key (returned once, in clear)."""
    if not ACCOUNT_NAME.match(name):
        raise CrmError(
            "account names are 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if store.account_by_name(conn, name) is not None:
        raise Conflict(f"account {name!r} already exists")
    try:
        account_id = store.insert_account(conn, name, secrets.token_hex(32), clock.now())
    except IntegrityError:
        raise Conflict(f"account {name!r} already exists") from None
    ensure_system_types(conn, account_id)
    return Account(account_id, name), create_key(conn, account_id)


def get_account(conn: Connection, name: str) -> Account:
    row = store.account_by_name(conn, name)
    if row is None:
        raise NotFound(f"no account named {name!r}")
    return Account(row["id"], row["name"])


def list_accounts(conn: Connection) -> list[Account]:
    return [Account(r["id"], r["name"]) for r in store.list_accounts(conn)]


def create_key(conn: Connection, account_id: int) -> str:
    key, prefix = _new_key()
    store.insert_key(conn, account_id, prefix, hash_key(key), clock.now())
    return key


def list_keys(conn: Connection, account_id: int) -> list[dict[str, str | None]]:
    return [
        {
            "prefix": r["prefix"],
            "created_at": clock.iso(r["created_at"]),
            "revoked_at": clock.iso(r["revoked_at"]),
        }
        for r in store.keys_of(conn, account_id)
    ]


def revoke_key(conn: Connection, given: str) -> str:
    """Revoke the key ``given`` names: the whole key, or any start of it (at least 8
    characters) that only one active key has. Its shown prefix."""
    given = given.strip()
    row = store.key_by_hash(conn, hash_key(given))
    if row is not None and row["revoked_at"] is None:
        store.revoke(conn, row["key_id"], clock.now())
        return given[: len(KEY_PREFIX) + 8]
    if len(given) < len(KEY_PREFIX) + 4:
        raise CrmError(
            f"{given!r} is too short to name a key: give the key, or its first "
            f"{len(KEY_PREFIX) + 8} characters as crmbatch keys list shows them"
        )
    found = store.active_keys_starting(conn, given)
    if not found:
        raise NotFound(f"no active key starts with {given!r} (crmbatch keys list shows them)")
    if len(found) > 1:
        shown = ", ".join(r["prefix"] for r in found)
        raise Conflict(f"{given!r} starts {len(found)} active keys ({shown}); give more of it")
    store.revoke(conn, found[0]["id"], clock.now())
    return str(found[0]["prefix"])


def authenticate(conn: Connection, key: str | None) -> Account:
    return holder(conn, key).account


@dataclass(frozen=True)
class KeyHolder:
    """Who holds a key: its account, the key's id, and its stored digest (which never leaves
    the server: a console session is signed with it, so revoking the key ends its sessions)."""

    account: Account
    key_id: int
    digest: str


def _holder(row: Any) -> KeyHolder:
    if row is None:
        raise Unauthorized("Key not found")
    if row["revoked_at"] is not None:
        raise Unauthorized(f"this key was revoked on {clock.iso(row['revoked_at'])}")
    return KeyHolder(Account(row["id"], row["name"]), int(row["key_id"]), str(row["key_hash"]))


def holder(conn: Connection, key: str | None) -> KeyHolder:
    """The holder of an active key; 401 for no key, an unknown or a revoked one."""
    if not key:
        raise Unauthorized("authentication not found in headers")
    return _holder(store.key_by_hash(conn, hash_key(key)))


def holder_by_key_id(conn: Connection, key_id: int) -> KeyHolder:
    """The holder of an active key named by its id (a console session's)."""
    return _holder(store.key_by_id(conn, key_id))


def webhook_secret(conn: Connection, name: str, *, rotate: bool = False) -> str:
    row = store.account_by_name(conn, name)
    if row is None:
        raise NotFound(f"no account named {name!r}")
    if not rotate:
        return str(row["webhook_secret"])
    secret = secrets.token_hex(32)
    store.set_webhook_secret(conn, row["id"], secret)
    return secret
