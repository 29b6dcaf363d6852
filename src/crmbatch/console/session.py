"""Console sessions: an API key is posted once and exchanged for a signed session cookie.

The cookie holds the key's id, when the session ends and a random nonce, signed with HMAC-SHA256
under the key's stored digest. The key itself is never in it, and the digest never leaves the
server, so a session cannot be forged without the database; revoking the key ends every session
made with it, because each request loads the key and refuses a revoked one. A form that changes
something carries a CSRF token derived from the session (and the cookie is SameSite=Strict).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import orjson
from sqlalchemy.engine import Connection

from crmbatch.core.accounts import service as accounts
from crmbatch.core.errors import Unauthorized

COOKIE = "crmbatch_session"
#: how long a session lasts from its login
LIFETIME = 8 * 3600


@dataclass(frozen=True)
class Session:
    holder: accounts.KeyHolder
    expires: int
    nonce: str

    @property
    def account(self) -> accounts.Account:
        return self.holder.account

    @property
    def csrf(self) -> str:
        return _mac(self.holder.digest, f"csrf:{self.nonce}")[:32]


def _mac(digest: str, text: str) -> str:
    key = b"crmbatch-console:" + digest.encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(conn: Connection, key: str, *, now: float | None = None) -> tuple[Session, str]:
    """A new session for an active key, and the cookie value that carries it."""
    holder = accounts.holder(conn, key.strip())
    expires = int(now if now is not None else time.time()) + LIFETIME
    payload = _b64(orjson.dumps({"k": holder.key_id, "e": expires, "n": secrets.token_hex(8)}))
    session = _session(holder, payload)
    return session, f"{payload}.{_mac(holder.digest, payload)}"


def _session(holder: accounts.KeyHolder, payload: str) -> Session:
    data = orjson.loads(_unb64(payload))
    return Session(holder, int(data["e"]), str(data["n"]))


def load(conn: Connection, cookie: str | None, *, now: float | None = None) -> Session:
    """The session a cookie carries; 401 when there is none, it is forged, it has expired, or
    its key was revoked."""
    if not cookie or cookie.count(".") != 1:
        raise Unauthorized("sign in with an API key")
    payload, mac = cookie.split(".")
    try:
        key_id = int(orjson.loads(_unb64(payload))["k"])
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise Unauthorized("sign in with an API key") from None
    holder = accounts.holder_by_key_id(conn, key_id)  # a revoked key ends its sessions here
    if not hmac.compare_digest(mac, _mac(holder.digest, payload)):
        raise Unauthorized("sign in with an API key")
    session = _session(holder, payload)
    if session.expires <= (now if now is not None else time.time()):
        raise Unauthorized("your session has expired; sign in again")
    return session


def check_csrf(session: Session, token: str | None) -> None:
    if not token or not hmac.compare_digest(token, session.csrf):
        raise Unauthorized("this form has expired; reload the page and try again")
