"""The planner's step for a new contact (:meth:`Batch._new_contact`) is only a faster way to
what the general step decides: for any sequence of contact commands, against contacts that hold
some of the identifiers already, both give the same results and the same records to write."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from crmbatch.core.records import plan
from crmbatch.core.schema import service as schemas
from tests.helpers import run_events

EMAILS = ["a@x.io", "b@x.io", "c@x.io", "d@x.io"]
EXT_IDS = ["e-1", "e-2", "e-3"]
PHONES = ["+33600000001", "+33600000002", "+33600000003"]


def _identity() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "EMAIL": st.sampled_from(EMAILS),
            "ext_id": st.sampled_from(EXT_IDS),
            "SMS": st.sampled_from(PHONES),
            "WHATSAPP": st.sampled_from(PHONES),
        },
    ).filter(bool)


COMMANDS = st.lists(
    st.fixed_dictionaries(
        {
            "identify": _identity(),
            "attributes": st.fixed_dictionaries(
                {},
                optional={
                    "FIRSTNAME": st.sampled_from(["Ann", "Bob", None]),
                    "AGE": st.integers(0, 3),
                    "EMAIL": st.sampled_from(EMAILS),
                },
            ),
            "warnings": st.sampled_from([[], [{"code": "w", "field": "f", "message": "m"}]]),
            "mode": st.sampled_from(["upsert", "update", "create", "new_only"]),
            "replace_identifiers": st.booleans(),
        }
    ),
    min_size=1,
    max_size=8,
)


def _seen(p: plan.Plan) -> tuple[Any, ...]:
    results = [(r.index, r.status, r.id, r.ext_id, r.errors, r.warnings) for r in p.outcome.results]
    touched = [(r.id, r.ext_id, r.attributes, r.changes, r.is_new) for r in p.touched]
    return results, touched, p.batch.owners


def test_the_new_contact_step_decides_as_the_general_one(db, settings, account, monkeypatch):
    acct, _ = account
    run_events(
        db,
        settings,
        acct.id,
        [
            {"name": "seen", "identity": {"EMAIL": "a@x.io", "SMS": "+33600000001"}},
            {"name": "seen", "identity": {"ext_id": "e-2"}},
        ],
    )
    with db.read() as conn:
        schema = schemas.load(conn, acct.id)
    contact = schema.types["contact"]
    fast = plan.Batch._new_contact

    @given(COMMANDS)
    @hypothesis_settings(
        max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    def same(commands: list[dict[str, Any]]) -> None:
        with db.read() as conn:
            monkeypatch.setattr(plan.Batch, "_new_contact", fast)
            quick = plan.plan_upsert(conn, schema, contact, commands, prechecked=True)
            monkeypatch.setattr(plan.Batch, "_new_contact", lambda *_: None)
            general = plan.plan_upsert(conn, schema, contact, commands, prechecked=True)
        assert _seen(quick) == _seen(general)

    same()
