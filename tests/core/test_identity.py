"""Contact identity resolution (issue 3), as a table of cases, on both backends.

Precedence: contact id > email > ext_id > SMS > WhatsApp > landline. Nothing is ever stolen from
another contact; a conflict is a warning in the event's result.
"""

from __future__ import annotations

import pytest

from tests.helpers import contact, contact_count, run_events


def event(name: str = "seen", **identity):
    return {"name": name, "identity": identity}


def results(process):
    return process["results"]


def the_contact(process, i=0):
    return process["results"][i]["contact"]


CHANNELS = [
    ("EMAIL", "jane@example.com", "Jane@Example.COM"),
    ("ext_id", "crm-7", "crm-7"),
    ("SMS", "+33612345678", "0033 6 12 34 56 78"),
    ("WHATSAPP", "+447700900123", "447700900123"),
    ("LANDLINE_NUMBER", "+33140000000", "+33 (1) 40.00.00.00"),
]


@pytest.mark.parametrize(("kind", "stored", "spelled_otherwise"), CHANNELS)
def test_each_identifier_alone_creates_then_finds_the_same_contact(
    db, settings, account, kind, stored, spelled_otherwise
):
    acct, _ = account
    first = run_events(db, settings, acct.id, [event(**{kind: stored})])
    again = run_events(db, settings, acct.id, [event(**{kind: spelled_otherwise})])
    assert the_contact(first)["status"] == "created"
    assert the_contact(again) == {"id": the_contact(first)["id"], "status": "unchanged"}
    assert results(again)[0]["warnings"] == []
    assert contact_count(db, acct.id) == 1
    found = contact(db, acct.id, kind, spelled_otherwise)
    assert found["id"] == the_contact(first)["id"]
    held = found["ext_id"] if kind == "ext_id" else found["channels"][kind]
    assert held == stored


def test_identifiers_that_agree_name_one_contact(db, settings, account):
    acct, _ = account
    first = run_events(db, settings, acct.id, [event(EMAIL="a@x.io", SMS="+33600000001")])
    again = run_events(
        db, settings, acct.id, [event(SMS="+33600000001", EMAIL="A@x.io", ext_id="e-1")]
    )
    cid = the_contact(first)["id"]
    assert the_contact(again) == {"id": cid, "status": "updated"}  # it gained the ext_id
    assert results(again)[0]["warnings"] == []
    c = contact(db, acct.id, "ext_id", "e-1")
    assert (c["id"], c["channels"]["EMAIL"], c["channels"]["SMS"]) == (
        cid,
        "a@x.io",
        "+33600000001",
    )


def test_conflicting_identifiers_go_to_the_first_in_precedence_and_steal_nothing(
    db, settings, account
):
    acct, _ = account
    a = the_contact(run_events(db, settings, acct.id, [event(EMAIL="a@x.io")]))["id"]
    b = the_contact(run_events(db, settings, acct.id, [event(SMS="+33600000002")]))["id"]
    p = run_events(db, settings, acct.id, [event(SMS="+33600000002", EMAIL="a@x.io")])
    assert the_contact(p)["id"] == a
    (warning,) = results(p)[0]["warnings"]
    assert warning["code"] == "identifier_conflict"
    assert warning["field"] == "identifiers.SMS"
    assert f"belongs to contact {b}" in warning["message"]
    assert contact(db, acct.id, "SMS", "+33600000002")["id"] == b
    assert contact(db, acct.id, "id", a)["channels"]["SMS"] is None


@pytest.mark.parametrize(
    ("held_by_a", "held_by_b", "winner"),
    [
        ({"ext_id": "x-1"}, {"SMS": "+33600000003"}, "a"),  # ext_id before SMS
        ({"WHATSAPP": "+33600000004"}, {"SMS": "+33600000004"}, "b"),  # SMS before WhatsApp
        ({"LANDLINE_NUMBER": "+33140000001"}, {"WHATSAPP": "+33600000005"}, "b"),
        ({"EMAIL": "p@x.io"}, {"ext_id": "x-2"}, "a"),  # email before ext_id
    ],
)
def test_precedence_between_two_contacts(db, settings, account, held_by_a, held_by_b, winner):
    acct, _ = account
    ids = {
        "a": the_contact(run_events(db, settings, acct.id, [event(**held_by_a)]))["id"],
        "b": the_contact(run_events(db, settings, acct.id, [event(**held_by_b)]))["id"],
    }
    p = run_events(db, settings, acct.id, [event(**held_by_a, **held_by_b)])
    assert the_contact(p)["id"] == ids[winner]
    assert [w["code"] for w in results(p)[0]["warnings"]] == ["identifier_conflict"]
    assert contact_count(db, acct.id) == 2


def test_contact_id_wins_over_every_other_identifier(db, settings, account):
    acct, _ = account
    a = the_contact(run_events(db, settings, acct.id, [event(EMAIL="a@x.io")]))["id"]
    b = the_contact(run_events(db, settings, acct.id, [event(EMAIL="b@x.io")]))["id"]
    p = run_events(db, settings, acct.id, [event(id=b, EMAIL="a@x.io")])
    assert the_contact(p)["id"] == b
    assert [w["code"] for w in results(p)[0]["warnings"]] == ["identifier_conflict"]
    assert contact(db, acct.id, "EMAIL", "a@x.io")["id"] == a


def test_an_unknown_contact_id_fails_the_event_and_creates_nothing(db, settings, account):
    acct, _ = account
    p = run_events(
        db, settings, acct.id, [event(id=999999, EMAIL="new@x.io"), event(EMAIL="n@x.io")]
    )
    assert [r["status"] for r in results(p)] == ["failed", "created"]
    assert results(p)[0]["errors"][0]["code"] == "contact_not_found"
    assert "999999" in results(p)[0]["errors"][0]["message"]
    assert p["counts"]["failed"] == 1 and p["counts"]["created"] == 1
    assert contact_count(db, acct.id) == 1


def test_a_found_contact_gains_free_identifiers_but_keeps_its_own(db, settings, account):
    acct, _ = account
    cid = the_contact(run_events(db, settings, acct.id, [event(EMAIL="a@x.io")]))["id"]
    p = run_events(db, settings, acct.id, [event(id=cid, EMAIL="other@x.io", SMS="+33600000009")])
    (warning,) = results(p)[0]["warnings"]
    assert warning["code"] == "identifier_kept" and "'a@x.io'" in warning["message"]
    c = contact(db, acct.id, "id", cid)
    assert (c["channels"]["EMAIL"], c["channels"]["SMS"]) == ("a@x.io", "+33600000009")
    with pytest.raises(Exception, match="does not exist"):
        contact(db, acct.id, "EMAIL", "other@x.io")


def test_new_contacts_in_one_batch_are_seen_by_the_events_after_them(db, settings, account):
    acct, _ = account
    p = run_events(
        db,
        settings,
        acct.id,
        [
            event(EMAIL="new@x.io"),
            event(EMAIL="NEW@x.io", SMS="+33600000010"),
            event(SMS="+33600000010"),
            event(ext_id="solo"),
            event(ext_id="solo", EMAIL="new@x.io"),
        ],
    )
    contacts = [r["contact"] for r in results(p)]
    assert [c["status"] for c in contacts] == [
        "created",
        "updated",
        "unchanged",
        "created",
        "unchanged",
    ]
    assert contacts[0]["id"] == contacts[1]["id"] == contacts[2]["id"]
    assert contacts[3]["id"] != contacts[0]["id"]
    # email comes before ext_id: the last event goes to the email's contact, "solo" stays put
    assert contacts[4]["id"] == contacts[0]["id"]
    assert results(p)[4]["warnings"][0]["field"] == "identifiers.ext_id"
    assert contact_count(db, acct.id) == 2


def test_contact_properties_merge_and_a_taken_channel_is_not_applied(db, settings, account):
    acct, _ = account
    run_events(db, settings, acct.id, [event(EMAIL="b@x.io")])
    p = run_events(
        db,
        settings,
        acct.id,
        [
            {
                **event(EMAIL="a@x.io"),
                "contact_properties": {"FIRSTNAME": "Jane", "AGE": 37, "Nickname": "JJ"},
            },
            {**event(EMAIL="a@x.io"), "contact_properties": {"EMAIL": "b@x.io", "AGE": 38}},
        ],
    )
    codes = [[w["code"] for w in r["warnings"]] for r in results(p)]
    assert codes == [["unknown_attribute"], ["unique_violation"]]
    c = contact(db, acct.id, "EMAIL", "a@x.io")
    assert c["attributes"] == {"FIRSTNAME": "Jane", "AGE": 38}
    assert contact(db, acct.id, "EMAIL", "b@x.io")["id"] != c["id"]
