"""The official brevo-python 5.1.0 SDK against a real ``crmbatch serve``, set up with the CLI as a
new user would: the whole flow of the foundation issue, on both backends."""

from __future__ import annotations

import time

import httpx
import pytest
import yaml
from brevo.core.api_error import ApiError
from brevo.custom_objects import (
    UpsertrecordsRequestRecordsItem as Rec,
)
from brevo.custom_objects import (
    UpsertrecordsRequestRecordsItemAssociationsItem as Assoc,
)
from brevo.custom_objects import (
    UpsertrecordsRequestRecordsItemAssociationsItemRecordsItem as AssocRec,
)
from brevo.custom_objects import (
    UpsertrecordsRequestRecordsItemAssociationsItemRecordsItemIdentifiers as AssocIds,
)
from brevo.custom_objects import (
    UpsertrecordsRequestRecordsItemIdentifiers as RecIds,
)

from brevo import Brevo
from tests.conftest import VEHICLE_SCHEMA
from tests.processes import Proc, cli, create_account, serve


@pytest.fixture
def live(database_url, tmp_path):
    """``crmbatch serve`` (plus ``crmbatch worker`` on PostgreSQL), an account and its schema."""
    key = create_account(database_url, "acme")
    schema_file = tmp_path / "schema.yaml"
    schema_file.write_text(yaml.safe_dump(VEHICLE_SCHEMA))
    done = cli(database_url, "schema", "apply", str(schema_file), "--account", "acme")
    assert done.returncode == 0, done.stderr
    assert "+ type vehicle" in done.stdout
    again = cli(database_url, "schema", "apply", str(schema_file), "--account", "acme")
    assert "no changes" in again.stdout
    procs: list[Proc] = []
    server, base = serve(database_url, tmp_path / "serve.log")
    procs.append(server)
    if not database_url.startswith("sqlite"):
        procs.append(Proc(database_url, "worker", log=tmp_path / "worker.log"))
    try:
        yield base, key
    finally:
        for p in procs:
            p.stop()


def wait_completed(client, process_id, timeout=60):
    deadline = time.monotonic() + timeout
    while (p := client.process.get_process(process_id=process_id)).status != "completed":
        assert p.status in ("queued", "in_process"), p
        assert time.monotonic() < deadline, f"process {process_id} stuck in {p.status}"
        time.sleep(0.05)
    return p


def test_the_whole_flow_with_the_official_sdk(live):
    base, key = live
    client = Brevo(api_key=key, base_url=f"{base}/v3", max_retries=0, timeout=30)

    cars = [
        Rec(
            identifiers=RecIds(ext_id=f"car-{i}"),
            attributes={
                "model": f"Model {i}",
                "make": "Toyota",
                "year": 2000 + i % 20,
                "vin": f"VIN{i:05d}",
                "color": "black" if i % 2 else "gray",
                "features": ["sunroof"],
                "first_registered": "2020-01-31",
                "insured": True,
            },
        )
        for i in range(1000)
    ]
    up = client.custom_objects.upsertrecords(object_type="vehicle", records=cars)
    assert up.message == "Batch object records are being processed"
    done = wait_completed(client, up.process_id)
    assert done.name == "OBJECT_RECORDS_UPSERT"

    page = client.custom_objects.getrecords(
        object_type="vehicle", limit=1000, page_num=1, sort="asc"
    )
    assert page.count == 1000 and len(page.records) == 1000
    first = page.records[0]
    assert first.identifiers.ext_id == "car-0" and first.attributes["vin"] == "VIN00000"
    ids = {r.identifiers.ext_id: r.identifiers.id for r in page.records}

    g = client.custom_objects.upsertrecords(
        object_type="garage",
        records=[
            Rec(identifiers=RecIds(ext_id=f"g-{i}"), attributes={"name": f"Garage {i}"})
            for i in range(3)
        ],
    )
    wait_completed(client, g.process_id)
    garages = client.custom_objects.getrecords(
        object_type="garage", limit=10, page_num=1, sort="asc"
    )
    gids = [r.identifiers.id for r in garages.records]

    upd = client.custom_objects.upsertrecords(
        object_type="vehicle",
        records=[
            Rec(
                identifiers=RecIds(id=ids["car-1"]),
                attributes={"year": 1999},
                associations=[
                    Assoc(
                        object_type="garage",
                        action="link",
                        records=[
                            AssocRec(identifiers=AssocIds(id=gids[0])),
                            AssocRec(identifiers=AssocIds(ext_id="g-1")),
                        ],
                    )
                ],
            ),
            Rec(
                identifiers=RecIds(ext_id="car-2"),
                attributes={"color": "black", "Model": "label, not key"},
            ),
            Rec(identifiers=RecIds(id=10**12), attributes={"year": 1}),
        ],
    )
    wait_completed(client, upd.process_id)
    unl = client.custom_objects.upsertrecords(
        object_type="vehicle",
        records=[
            Rec(
                identifiers=RecIds(ext_id="car-1"),
                associations=[
                    Assoc(
                        object_type="garage",
                        action="unlink",
                        records=[AssocRec(identifiers=AssocIds(ext_id="g-0"))],
                    ),
                    Assoc(
                        object_type="garage",
                        action="link",
                        records=[AssocRec(identifiers=AssocIds(ext_id="g-2"))],
                    ),
                ],
            )
        ],
    )
    wait_completed(client, unl.process_id)

    detail = httpx.get(f"{base}/v1/processes/{upd.process_id}", headers={"api-key": key}).json()
    assert [r["status"] for r in detail["results"]] == ["updated", "updated", "failed"]
    assert detail["results"][1]["warnings"][0]["suggestion"] == "model"
    assert detail["results"][2]["errors"][0]["code"] == "record_not_found"
    assert detail["counts"]["updated"] == 2 and detail["counts"]["failed"] == 1

    page = client.custom_objects.getrecords(
        object_type="vehicle", limit=2, page_num=1, sort="asc", association="true"
    )
    car1 = page.records[1]
    assert car1.attributes["year"] == 1999 and car1.attributes["model"] == "Model 1"
    linked = sorted(r.identifiers.id for r in car1.associations[0].records)
    assert car1.associations[0].object_type == "garage" and linked == sorted([gids[1], gids[2]])
    assoc = client.custom_objects.get_associated_records(object_type="vehicle", ext_id="car-1")
    assert sorted(i.object.ext_id for i in assoc.items) == ["g-1", "g-2"]

    listed = client.process.get_processes(limit=10, offset=0, sort="desc")
    assert listed.count == 4 and listed.processes[0].id == unl.process_id

    deleted = client.custom_objects.batch_delete_object_records(
        object_type="vehicle", identifiers={"ext_ids": ["car-999"]}
    )
    wait_completed(client, deleted.process_id)
    assert client.custom_objects.getrecords(object_type="vehicle", limit=1, page_num=1).count == 999

    with pytest.raises(ApiError) as e:
        client.process.get_process(process_id=999999)
    assert e.value.status_code == 404 and e.value.body["code"] == "document_not_found"
    with pytest.raises(ApiError) as e:
        client.custom_objects.upsertrecords(
            object_type="vehicle", records=[Rec(attributes={"year": "x"})]
        )
    assert e.value.status_code == 400 and "records[0].attributes.year" in e.value.body["message"]
    bad = Brevo(api_key="crm_nope", base_url=f"{base}/v3", max_retries=0)
    with pytest.raises(ApiError) as e:
        bad.process.get_processes()
    assert e.value.status_code == 401
