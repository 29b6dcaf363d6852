"""Identifier rules, merge of partial updates, values and order: the engine on both backends."""

from __future__ import annotations

import pytest

from crmbatch.core.errors import InvalidInput, NotFound, OutOfRange, PermissionDenied
from tests.helpers import all_records, by_ext, history_count, run_batch, submit


def statuses(process):
    return [r["status"] for r in process["results"]]


def test_no_identifier_creates_a_record_with_a_generated_id(db, settings, account):
    acct, _ = account
    p = run_batch(
        db,
        settings,
        acct.id,
        [{"attributes": {"model": "Civic"}}, {"attributes": {"model": "Golf"}}],
    )
    assert p["status"] == "completed"
    assert statuses(p) == ["created", "created"]
    ids = [r["id"] for r in p["results"]]
    assert all(isinstance(i, int) for i in ids) and ids[0] != ids[1]
    assert sorted(r["attributes"]["model"] for r in all_records(db, acct.id)) == ["Civic", "Golf"]


def test_ext_id_creates_then_updates_and_merges_partial_attributes(db, settings, account):
    acct, _ = account
    first = run_batch(
        db, settings, acct.id, [{"ext_id": "car-1", "attributes": {"model": "Civic", "year": 2020}}]
    )
    second = run_batch(
        db, settings, acct.id, [{"ext_id": "car-1", "attributes": {"make": "Honda"}}]
    )
    assert statuses(first) == ["created"] and statuses(second) == ["updated"]
    assert first["results"][0]["id"] == second["results"][0]["id"]
    assert by_ext(db, acct.id)["car-1"]["attributes"] == {
        "model": "Civic",
        "year": 2020,
        "make": "Honda",
    }


def test_unknown_id_fails_alone_and_the_rest_applies(db, settings, account):
    acct, _ = account
    p = run_batch(
        db,
        settings,
        acct.id,
        [
            {"ext_id": "a", "attributes": {"model": "A"}},
            {"id": 999999, "attributes": {"model": "X"}},
            {"ext_id": "b", "attributes": {"model": "B"}},
        ],
    )
    assert statuses(p) == ["created", "failed", "created"]
    assert p["results"][1]["errors"][0]["code"] == "record_not_found"
    assert "use ext_id to create" in p["results"][1]["errors"][0]["message"]
    assert p["counts"] == {
        "received": 3,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "deleted": 0,
        "archived": 0,
        "failed": 1,
        "skipped": 0,
    }
    assert set(by_ext(db, acct.id)) == {"a", "b"}


def test_id_wins_over_ext_id_and_sets_it(db, settings, account):
    acct, _ = account
    rid = run_batch(db, settings, acct.id, [{"attributes": {"model": "A"}}])["results"][0]["id"]
    p = run_batch(
        db, settings, acct.id, [{"id": rid, "ext_id": "new-ext", "attributes": {"year": 1999}}]
    )
    assert statuses(p) == ["updated"]
    rec = by_ext(db, acct.id)["new-ext"]
    assert rec["id"] == rid and rec["attributes"] == {"model": "A", "year": 1999}


def test_same_record_twice_in_one_batch_applies_in_order(db, settings, account):
    acct, _ = account
    p = run_batch(
        db,
        settings,
        acct.id,
        [
            {"ext_id": "dup", "attributes": {"model": "first", "year": 1}},
            {"ext_id": "dup", "attributes": {"model": "second"}},
        ],
    )
    assert statuses(p) == ["created", "updated"]
    assert p["results"][0]["id"] == p["results"][1]["id"]
    assert by_ext(db, acct.id)["dup"]["attributes"] == {"model": "second", "year": 1}


def test_resending_the_same_values_is_unchanged_and_writes_no_history(db, settings, account):
    acct, _ = account
    cmd = [{"ext_id": "c", "attributes": {"model": "M", "year": 3}}]
    rid = run_batch(db, settings, acct.id, cmd)["results"][0]["id"]
    assert statuses(run_batch(db, settings, acct.id, cmd)) == ["unchanged"]
    assert history_count(db, rid) == 1


def test_null_clears_an_attribute(db, settings, account):
    acct, _ = account
    run_batch(db, settings, acct.id, [{"ext_id": "c", "attributes": {"model": "M", "year": 3}}])
    run_batch(db, settings, acct.id, [{"ext_id": "c", "attributes": {"year": None}}])
    assert by_ext(db, acct.id)["c"]["attributes"] == {"model": "M"}


def test_unknown_attributes_and_labels_are_ignored_with_a_suggestion(db, settings, account):
    acct, _ = account
    p = run_batch(
        db,
        settings,
        acct.id,
        [
            {
                "ext_id": "w",
                "attributes": {"model": "M", "Company Name": "Acme", "modle": "x", "zzz": 1},
            }
        ],
    )
    assert statuses(p) == ["created"]
    warnings = {w["field"]: w for w in p["results"][0]["warnings"]}
    assert warnings["Company Name"]["code"] == "unknown_attribute"
    assert warnings["Company Name"]["suggestion"] == "company_name"
    assert warnings["modle"]["suggestion"] == "model"
    assert warnings["zzz"]["suggestion"] is None
    assert by_ext(db, acct.id)["w"]["attributes"] == {"model": "M"}


def test_category_values_are_option_keys_labels_are_ignored(db, settings, account):
    acct, _ = account
    p = run_batch(
        db,
        settings,
        acct.id,
        [
            {
                "ext_id": "k",
                "attributes": {
                    "model": "M",
                    "color": "black",
                    "features": ["sunroof", "leather_seats"],
                },
            },
            {"ext_id": "l", "attributes": {"model": "M", "color": "Gray"}},
        ],
    )
    assert statuses(p) == ["created", "created"]
    w = p["results"][1]["warnings"][0]
    assert (w["code"], w["field"], w["suggestion"]) == ("option_label_used", "color", "gray")
    recs = by_ext(db, acct.id)
    assert recs["k"]["attributes"]["color"] == "black"
    assert recs["k"]["attributes"]["features"] == ["sunroof", "leather_seats"]
    assert "color" not in recs["l"]["attributes"]


@pytest.mark.parametrize(
    ("attrs", "field", "text"),
    [
        ({"year": "abc"}, "records[1].attributes.year", 'expected a number, got "abc"'),
        ({"insured": "yes"}, "records[1].attributes.insured", "expected true or false"),
        (
            {"first_registered": "2020-13-01"},
            "records[1].attributes.first_registered",
            "expected a date",
        ),
        ({"features": "sunroof"}, "records[1].attributes.features", "expected an array"),
    ],
)
def test_a_value_of_the_wrong_type_rejects_the_batch_and_stores_nothing(
    db, account, attrs, field, text
):
    acct, _ = account
    with pytest.raises(InvalidInput) as e:
        submit(db, acct.id, [{"attributes": {"model": "ok"}}, {"attributes": attrs}])
    assert f"{field}: {text}" in e.value.message
    assert all_records(db, acct.id) == []


def test_limits(db, account):
    acct, _ = account
    with pytest.raises(OutOfRange, match="cannot be empty or more than 1000"):
        submit(db, acct.id, [])
    with pytest.raises(OutOfRange):
        submit(db, acct.id, [{"attributes": {}}] * 1001)
    with pytest.raises(NotFound):
        submit(db, acct.id, [{"attributes": {}}], object_type="spaceship")
    with pytest.raises(PermissionDenied):
        submit(db, acct.id, [{"attributes": {}}], object_type="contact")


def test_a_unique_attribute_matches_and_refuses_duplicates(db, settings, account):
    acct, _ = account
    p = run_batch(
        db,
        settings,
        acct.id,
        [
            {"match": ["vin", "VIN1"], "attributes": {"model": "A"}},
            {"match": ["vin", "VIN1"], "attributes": {"year": 2001}},
            {"ext_id": "other", "attributes": {"model": "B", "vin": "VIN1"}},
        ],
    )
    assert statuses(p) == ["created", "updated", "failed"]
    assert p["results"][2]["errors"][0]["code"] == "unique_violation"
    # the value moves: the first record takes a new vin, the old one becomes free
    p2 = run_batch(
        db,
        settings,
        acct.id,
        [
            {"match": ["vin", "VIN1"], "attributes": {"vin": "VIN2"}},
            {"ext_id": "other", "attributes": {"model": "B", "vin": "VIN1"}},
        ],
    )
    assert statuses(p2) == ["updated", "created"]
    vins = sorted(r["attributes"].get("vin") for r in all_records(db, acct.id))
    assert vins == ["VIN1", "VIN2"]
    p3 = run_batch(db, settings, acct.id, [{"match": ["vin", "VIN2"], "attributes": {"year": 5}}])
    assert p3["results"][0]["id"] == p["results"][0]["id"]


def test_two_batches_on_the_same_record_apply_in_acceptance_order(db, settings, account):
    acct, _ = account
    for i in range(5):
        submit(db, acct.id, [{"ext_id": "o", "attributes": {"model": f"v{i}", "year": i}}])
    from crmbatch.worker import drain

    assert drain(db, settings) == 5
    rec = by_ext(db, acct.id)["o"]
    assert rec["attributes"] == {"model": "v4", "year": 4}
    assert history_count(db, rec["id"]) == 5


def test_idempotency_keys_expire_after_24_hours(db, account):
    from datetime import timedelta

    from crmbatch.core import clock
    from crmbatch.core.errors import Conflict
    from crmbatch.core.processes import store

    acct, _ = account
    cmd = [{"attributes": {"model": "x"}}]
    first = submit(db, acct.id, cmd, idempotency_key="nightly", digest="d1")
    assert submit(db, acct.id, cmd, idempotency_key="nightly", digest="d1") == first
    with pytest.raises(Conflict):
        submit(db, acct.id, cmd, idempotency_key="nightly", digest="d2")
    with db.write() as conn:
        conn.execute(
            store.processes.update().values(requested_at=clock.now() - timedelta(hours=25))
        )
    later = submit(db, acct.id, cmd, idempotency_key="nightly", digest="d2")
    assert later != first


def test_a_match_cannot_take_an_ext_id_that_another_record_holds(db, settings, account):
    """Found by the model-based test: the unique-attribute path gave one ext_id to two records."""
    acct, _ = account
    p = run_batch(
        db,
        settings,
        acct.id,
        [
            {"attributes": {"model": "a", "vin": "V3"}},
            {"match": ["vin", "V1"], "ext_id": "e1", "attributes": {"model": "b"}},
            {"match": ["vin", "V3"], "ext_id": "e1", "attributes": {"model": "c"}},
        ],
    )
    assert statuses(p) == ["created", "created", "failed"]
    assert p["results"][2]["errors"][0]["code"] == "ext_id_taken"
    assert sorted(
        (r["ext_id"] or "", r["attributes"]["model"]) for r in all_records(db, acct.id)
    ) == [
        ("", "a"),
        ("e1", "b"),
    ]


def test_an_ext_id_released_in_a_batch_can_be_taken_later_in_it(db, settings, account):
    """Found by the model-based test: the insert ran before the update that freed the ext_id."""
    acct, _ = account
    first = run_batch(db, settings, acct.id, [{"ext_id": "e3", "attributes": {"model": "x"}}])
    rid = first["results"][0]["id"]
    p = run_batch(
        db,
        settings,
        acct.id,
        [
            {"id": rid, "ext_id": "e1", "attributes": {"model": "x"}},
            {"ext_id": "e3", "attributes": {"model": "new"}},
        ],
    )
    assert statuses(p) == ["updated", "created"]
    recs = by_ext(db, acct.id)
    assert recs["e1"]["id"] == rid and recs["e3"]["attributes"] == {"model": "new"}
