"""The schema document: validation, idempotent apply, symmetric associations, destructive guard."""

from __future__ import annotations

import copy

import pytest

from crmbatch.core.errors import Conflict, InvalidInput
from crmbatch.core.schema import service as schemas
from crmbatch.core.schema.model import SYSTEM_TYPES
from tests.conftest import VEHICLE_SCHEMA, make_account
from tests.helpers import run_batch


def apply(db, account_id, doc, **kw):
    with db.write() as conn:
        return schemas.apply(conn, account_id, doc, **kw)


def export(db, account_id):
    with db.read() as conn:
        return schemas.export(conn, account_id)


def test_apply_is_idempotent_and_export_round_trips(db):
    acct, _ = make_account(db)
    first = apply(db, acct.id, VEHICLE_SCHEMA)
    assert "+ type vehicle" in first and "+ attribute vehicle.vin (text, unique)" in first
    assert apply(db, acct.id, VEHICLE_SCHEMA) == []
    exported = export(db, acct.id)
    assert apply(db, acct.id, exported) == []
    vin = exported["object_types"]["vehicle"]["attributes"]["vin"]
    assert vin["unique"] is True and len(vin["id"]) == 36  # stable UUID for MainBrainer
    assert export(db, acct.id)["object_types"]["vehicle"]["attributes"]["vin"]["id"] == vin["id"]


def test_associations_are_symmetric(db):
    acct, _ = make_account(db, schema=VEHICLE_SCHEMA)
    types = export(db, acct.id)["object_types"]
    assert "vehicle" in types["garage"]["associations"]
    assert "vehicle" in types["contact"]["associations"]
    assert sorted(types["vehicle"]["associations"]) == ["contact", "garage", "insurance"]


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d["object_types"].update({"Bad Name": {}}), "object_types.Bad Name"),
        (lambda d: d["object_types"].update({"ticket": {}}), "object_types.ticket"),
        (
            lambda d: d["object_types"]["vehicle"]["attributes"]["year"].update(type="integer"),
            "object_types.vehicle.attributes.year.type",
        ),
        (
            lambda d: d["object_types"]["vehicle"]["attributes"]["color"].pop("options"),
            "object_types.vehicle.attributes.color.options",
        ),
        (
            lambda d: d["object_types"]["vehicle"]["attributes"]["insured"].update(unique=True),
            "object_types.vehicle.attributes.insured.unique",
        ),
        (
            lambda d: d["object_types"]["vehicle"].update(primary_attribute="year"),
            "object_types.vehicle.primary_attribute",
        ),
        (
            lambda d: d["object_types"]["garage"].pop("primary_attribute"),
            "object_types.garage.primary_attribute",
        ),
        (
            lambda d: d["object_types"]["garage"].update(associations=["spaceship"]),
            "object_types.garage.associations",
        ),
        (
            lambda d: d["object_types"]["garage"]["attributes"].update(
                {"bad key": {"type": "text"}}
            ),
            "object_types.garage.attributes.bad key",
        ),
        (
            lambda d: d["object_types"]["garage"]["attributes"].update(
                {f"a{i}": {"type": "text"} for i in range(500)}
            ),
            "object_types.garage.attributes",
        ),
    ],
)
def test_invalid_documents_name_the_problem_and_change_nothing(db, mutate, where):
    acct, _ = make_account(db)
    doc = copy.deepcopy(VEHICLE_SCHEMA)
    mutate(doc)
    with pytest.raises(InvalidInput) as e:
        apply(db, acct.id, doc)
    assert where in [f for f, _ in e.value.problems]
    assert set(export(db, acct.id)["object_types"]) == set(SYSTEM_TYPES)  # only those


def test_removing_what_holds_data_needs_allow_destructive(db, settings):
    acct, _ = make_account(db, schema=VEHICLE_SCHEMA)
    run_batch(db, settings, acct.id, [{"attributes": {"model": "m", "year": 1}}])
    smaller = copy.deepcopy(VEHICLE_SCHEMA)
    del smaller["object_types"]["vehicle"]["attributes"]["year"]
    del smaller["object_types"]["insurance"]  # holds no records: removed freely
    smaller["object_types"]["vehicle"]["associations"] = ["garage", "contact"]
    with pytest.raises(InvalidInput, match="would lose data; use --allow-destructive"):
        apply(db, acct.id, smaller)
    changes = apply(db, acct.id, smaller, allow_destructive=True)
    assert "- attribute vehicle.year" in changes and "- type insurance" in changes
    assert "year" not in export(db, acct.id)["object_types"]["vehicle"]["attributes"]


def test_making_an_attribute_unique_checks_and_indexes_existing_values(db, settings):
    acct, _ = make_account(db, schema=VEHICLE_SCHEMA)
    run_batch(
        db,
        settings,
        acct.id,
        [{"attributes": {"model": "same"}}, {"attributes": {"model": "same"}}],
    )
    doc = copy.deepcopy(VEHICLE_SCHEMA)
    doc["object_types"]["vehicle"]["attributes"]["model"]["unique"] = True
    with pytest.raises(Conflict, match="share the value 'same'"):
        apply(db, acct.id, doc)
    doc["object_types"]["vehicle"]["attributes"]["make"]["unique"] = True
    del doc["object_types"]["vehicle"]["attributes"]["model"]["unique"]
    run_batch(db, settings, acct.id, [{"ext_id": "m1", "attributes": {"model": "x", "make": "VW"}}])
    apply(db, acct.id, doc)
    p = run_batch(db, settings, acct.id, [{"attributes": {"model": "y", "make": "VW"}}])
    assert p["results"][0]["errors"][0]["code"] == "unique_violation"


def test_a_cached_schema_follows_a_change_made_by_another_process(db, database_url):
    from crmbatch.db.engine import Database

    acct, _ = make_account(db, schema=VEHICLE_SCHEMA)
    with db.read() as conn:
        before = schemas.load(conn, acct.id)
    with db.read() as conn:
        assert schemas.load(conn, acct.id) is before  # cached while nothing changed
    other = Database(database_url, pool_size=1)  # another process: its own engine and cache
    try:
        doc = copy.deepcopy(VEHICLE_SCHEMA)
        doc["object_types"]["garage"]["attributes"]["city"] = {"type": "text"}
        apply(other, acct.id, doc)
    finally:
        other.dispose()
    with db.read() as conn:
        after = schemas.load(conn, acct.id)
    assert "city" in after.types["garage"].attributes
    assert "city" not in before.types["garage"].attributes


def test_built_in_contact_channels_are_not_in_the_document_and_cannot_be_declared(db):
    acct, _ = make_account(db, schema=VEHICLE_SCHEMA)
    contact = export(db, acct.id)["object_types"]["contact"]
    assert set(contact["attributes"]) == {"FIRSTNAME", "LASTNAME", "AGE"}
    doc = copy.deepcopy(VEHICLE_SCHEMA)
    doc["object_types"]["contact"]["attributes"]["EMAIL"] = {"type": "email"}
    with pytest.raises(InvalidInput, match="EMAIL is built into contact"):
        apply(db, acct.id, doc)
    with db.read() as conn:
        channels = schemas.load(conn, acct.id).types["contact"].attributes
    assert all(channels[k].unique and channels[k].builtin for k in ("EMAIL", "SMS"))
