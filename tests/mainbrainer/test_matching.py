"""MainBrainer's matching rules as a table: contactId, else email, else mobile; given email and
number are set on the contact found, never taken from another contact. Both backends, through
the real engine and worker."""

from __future__ import annotations

from typing import Any

import pytest

from crmbatch.core.contacts import batch as contacts_batch
from crmbatch.worker import drain
from tests.helpers import contact, contact_count

A_EMAIL, A_SMS = "a@example.com", "+447700900001"
B_EMAIL = "b@example.com"
C_SMS = "+447700900003"


def run_contacts(db, settings, account_id: int, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Accept a batch of contact items, apply everything queued, return the core's report."""
    with db.write() as conn:
        accepted = contacts_batch.accept_contacts(
            conn, account_id, items, list_uuid=None, dialect="test"
        )
    drain(db, settings)
    with db.read() as conn:
        return contacts_batch.report(conn, account_id, accepted.accepted.process_id)


@pytest.fixture
def people(db, settings, account) -> dict[str, int]:
    """Three contacts: A (email and mobile), B (email), C (mobile only)."""
    r = run_contacts(
        db,
        settings,
        account[0].id,
        [{"email": A_EMAIL, "phone": A_SMS}, {"email": B_EMAIL}, {"phone": C_SMS}],
    )
    assert len(r["inserted"]) == 3, r
    return dict(zip("ABC", r["inserted"], strict=True))


# (case, item with "A"/"B"/"C" standing for that contact's id, outcome, who, A's channels after)
CASES = [
    ("contactId wins; another's email is not taken", {"contact_id": "A", "email": B_EMAIL},
     "updated", "A", {"EMAIL": A_EMAIL}),
    ("contactId with a new email sets it", {"contact_id": "A", "email": "new@example.com"},
     "updated", "A", {"EMAIL": "new@example.com", "SMS": A_SMS}),
    ("contactId alone changes no channel", {"contact_id": "A"},
     "updated", "A", {"EMAIL": A_EMAIL, "SMS": A_SMS}),
    ("email matches whatever its case", {"email": "A@Example.COM"},
     "updated", "A", {"EMAIL": A_EMAIL}),
    ("email wins over mobile; C keeps its number", {"email": B_EMAIL, "phone": C_SMS},
     "updated", "B", None),
    ("unknown email, known mobile: the mobile's contact gets the email",
     {"email": "c@example.com", "phone": C_SMS}, "updated", "C", None),
    ("known email, new mobile: the number is replaced",
     {"email": A_EMAIL, "phone": "+447700900999"},
     "updated", "A", {"EMAIL": A_EMAIL, "SMS": "+447700900999"}),
    ("nothing known: a new contact with both", {"email": "d@example.com", "phone": "+447700900004"},
     "inserted", "new", None),
    ("unknown contactId is skipped", {"contact_id": 999_999, "email": "e@example.com"},
     "contact_not_found", None, None),
    ("no identifier at all is skipped", {"properties": []},
     "no_identifier", None, None),
    ("an invalid email alone is skipped", {"email": "not-an-email"},
     "invalid_email", None, None),
    ("an invalid email beside a known mobile is left out", {"email": "nope", "phone": C_SMS},
     "updated", "C", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "item", "outcome", "who", "a_after"), CASES, ids=[c[0] for c in CASES]
)
def test_matching(db, settings, account, people, case, item, outcome, who, a_after):
    account_id = account[0].id
    item = {k: people.get(v, v) if k == "contact_id" else v for k, v in item.items()}
    before = contact_count(db, account_id)
    r = run_contacts(db, settings, account_id, [item])
    if outcome == "inserted":
        assert len(r["inserted"]) == 1 and not r["updated"] and not r["skipped"]
        assert contact_count(db, account_id) == before + 1
        made = contact(db, account_id, "id", r["inserted"][0])["channels"]
        assert made["EMAIL"] == item["email"] and made["SMS"] == item["phone"]
    elif outcome == "updated":
        assert r["updated"] == [people[who]] and not r["inserted"] and not r["skipped"]
        assert contact_count(db, account_id) == before
    else:
        assert not r["inserted"] and not r["updated"]
        assert [s["reason"] for s in r["skipped"]] == [outcome]
        assert contact_count(db, account_id) == before
    if outcome == "contact_not_found":
        assert r["invalid_contact_ids"] == [item["contact_id"]]
    channels = {
        k: v for k, v in contact(db, account_id, "id", people["A"])["channels"].items() if v
    }
    expected_a = {"EMAIL": A_EMAIL, "SMS": A_SMS}
    assert channels == {**expected_a, **(a_after or {})}
    # nothing is ever taken from B or C
    assert contact(db, account_id, "id", people["B"])["channels"]["EMAIL"] == B_EMAIL
    assert contact(db, account_id, "id", people["C"])["channels"]["SMS"] == C_SMS


def test_a_batch_sees_the_contacts_it_created(db, settings, account):
    """Two items with one new email: the first inserts, the second updates that contact."""
    r = run_contacts(
        db,
        settings,
        account[0].id,
        [{"email": "x@example.com"}, {"email": "X@example.com", "phone": "+447700900777"}],
    )
    assert len(r["inserted"]) == 1 and r["updated"] == r["inserted"]
    got = contact(db, account[0].id, "id", r["inserted"][0])["channels"]
    assert got["EMAIL"] == "x@example.com" and got["SMS"] == "+447700900777"
