"""API keys: revoked by the whole key or any start of it that only one active key has."""

from __future__ import annotations

import pytest

from crmbatch.core.accounts import service
from crmbatch.core.errors import Conflict, CrmError, NotFound, Unauthorized
from crmbatch.db.tables import api_keys
from tests.conftest import make_account


def test_a_start_two_keys_share_names_neither(db):
    account, first = make_account(db)
    with db.write() as conn:
        second = service.create_key(conn, account.id)
        # two keys whose shown starts agree on their first 10 characters
        for n, row in enumerate(conn.execute(api_keys.select()).mappings().all()):
            shown = f"crm_AAAAAA{n:02d}"
            conn.execute(api_keys.update().where(api_keys.c.id == row["id"]).values(prefix=shown))
    with db.write() as conn, pytest.raises(Conflict, match="give more of it"):
        service.revoke_key(conn, "crm_AAAAAA")
    with db.write() as conn:
        assert service.revoke_key(conn, first)  # the whole key always names one
    with db.read() as conn:
        with pytest.raises(Unauthorized, match="revoked on"):
            service.authenticate(conn, first)
        assert service.authenticate(conn, second).id == account.id
    with db.write() as conn, pytest.raises(NotFound):
        service.revoke_key(conn, "crm_ZZZZZZZZ")
    with db.write() as conn, pytest.raises(CrmError, match="too short"):
        service.revoke_key(conn, "crm_")
