"""HubSpot's CRM search through the official hubspot-api-client 12, unchanged, against a real
server on both backends: every operator, values compared by type, OR of AND groups, the text
query, one sort in both of HubSpot's forms, paging past 200 with ``total``, and the limits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hubspot.crm.objects import ApiException, Filter, FilterGroup, PublicObjectSearchRequest

from hubspot import HubSpot
from tests.conftest import wait_process

COLORS = ("gray", "black")


def car(i: int) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "model": f"Model {i}",
        "make": "Toyota" if i % 2 else "Honda",
        "vin": f"V{i:03d}",
        "color": COLORS[i % 2],
        "features": ["sunroof"] if i % 2 else ["leather_seats"],
        "insured": i % 3 == 0,
        "first_registered": f"20{10 + i % 10}-01-15",
    }
    if i != 7:  # one car without a year
        attrs["year"] = 1990 + i % 30
    return attrs


CARS = [car(i) for i in range(250)]


def count(test: Any) -> int:
    """How many of the fleet satisfy ``test``: the model the answers are held to."""
    return sum(1 for c in CARS if test(c))


@pytest.fixture
def fleet(server, api, account) -> Any:
    records = [{"identifiers": {"ext_id": f"car-{i}"}, "attributes": c} for i, c in enumerate(CARS)]
    r = api.post("/v3/objects/vehicle/batch/upsert", json={"records": records})
    wait_process(api, r.json()["processId"])
    return HubSpot(access_token=account[1], host=server.base_url)


def search(client: Any, *groups: list[Filter], **kw: Any) -> Any:
    request = PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=list(g)) for g in groups],
        properties=kw.pop("properties", ["vin", "year"]),
        limit=kw.pop("limit", 200),
        **kw,
    )
    return client.crm.objects.search_api.do_search("vehicle", request)


def vins(page: Any) -> list[str]:
    return [r.properties["vin"] for r in page.results]


def f(name: str, op: str, value: Any = None, **kw: Any) -> Filter:
    return Filter(property_name=name, operator=op, value=value, **kw)


def test_every_operator_compares_by_the_propertys_type(fleet):
    year = lambda c: c.get("year")  # noqa: E731
    eq = search(fleet, [f("vin", "EQ", "V042")])  # a unique value: by its index
    assert (eq.total, vins(eq)) == (1, ["V042"])
    cases = [
        (f("year", "EQ", "2000"), lambda c: year(c) == 2000),  # numbers as numbers
        (f("color", "NEQ", "gray"), lambda c: c["color"] != "gray"),
        (f("year", "LT", "1995"), lambda c: year(c) is not None and year(c) < 1995),
        (f("year", "LTE", "1995"), lambda c: year(c) is not None and year(c) <= 1995),
        (f("year", "GT", "2015"), lambda c: year(c) is not None and year(c) > 2015),
        (f("year", "GTE", "2015"), lambda c: year(c) is not None and year(c) >= 2015),
        (
            f("year", "BETWEEN", "2000", high_value="2001"),
            lambda c: year(c) in (2000, 2001),
        ),
        (f("make", "IN", values=["Honda", "Nissan"]), lambda c: c["make"] == "Honda"),
        (f("make", "NOT_IN", values=["Honda"]), lambda c: c["make"] != "Honda"),
        (f("year", "HAS_PROPERTY"), lambda c: "year" in c),
        (f("year", "NOT_HAS_PROPERTY"), lambda c: "year" not in c),
        (f("model", "CONTAINS_TOKEN", "model 24*"), lambda c: c["model"].startswith("Model 24")),
        (f("model", "NOT_CONTAINS_TOKEN", "model 1"), lambda c: "Model 1" not in c["model"]),
        (f("insured", "EQ", "true"), lambda c: c["insured"]),  # booleans as booleans
        (f("features", "EQ", "sunroof"), lambda c: "sunroof" in c["features"]),  # a choice
        (
            f("first_registered", "GTE", "2019-01-01"),  # dates as dates
            lambda c: c["first_registered"] >= "2019-01-01",
        ),
        (
            f("first_registered", "LT", str(1262304000000 + 86400000 * 30)),  # epoch ms
            lambda c: c["first_registered"] < "2010-01-31",
        ),
        (f("hs_object_id", "GT", "0"), lambda c: True),
    ]
    for filter_, test in cases:
        expected = count(test)
        assert 0 < expected < 250 or filter_.operator in ("GT",), filter_
        assert search(fleet, [filter_]).total == expected, filter_
    assert vins(search(fleet, [f("year", "NOT_HAS_PROPERTY")])) == ["V007"]


def test_groups_or_filters_and_a_query_narrows(fleet):
    either = search(
        fleet, [f("vin", "EQ", "V001")], [f("vin", "EQ", "V002"), f("color", "EQ", "black")]
    )
    assert sorted(vins(either)) == ["V001"]  # V002 is gray: its group fails
    both = search(fleet, [f("color", "EQ", "gray"), f("year", "EQ", "1990")])
    assert both.total == count(lambda c: c["color"] == "gray" and c.get("year") == 1990)
    query = search(fleet, query="model 12")
    assert query.total == count(lambda c: "model 12" in c["model"].lower()) == 11
    narrowed = search(fleet, [f("color", "EQ", "gray")], query="model 12")
    gray = count(lambda c: "model 12" in c["model"].lower() and c["color"] == "gray")
    assert narrowed.total == gray


def test_paging_past_200_and_sorting_both_ways(fleet):
    seen: list[str] = []
    after = None
    while True:
        page = search(fleet, limit=100, after=after, sorts=["vin"])
        assert page.total == 250
        seen += vins(page)
        if page.paging is None:
            break
        after = page.paging.next.after
    assert seen == sorted(f"V{i:03d}" for i in range(250))
    newest = search(fleet, sorts=[{"propertyName": "year", "direction": "DESCENDING"}], limit=3)
    assert [r.properties["year"] for r in newest.results] == ["2019", "2019", "2019"]
    oldest = search(fleet, sorts=["year"], limit=1)
    assert oldest.results[0].properties["year"] == "1990"
    descending = search(fleet, sorts=["-vin"], limit=2)
    assert vins(descending) == ["V249", "V248"]
    # one value per group, OR-ed: the sort still orders the groups' values
    either = search(
        fleet,
        [f("make", "EQ", "Toyota")],
        [f("make", "EQ", "Honda")],
        sorts=["make"],
        limit=200,
        properties=["make"],
    )
    makes = [r.properties["make"] for r in either.results]
    assert makes == sorted(makes) and makes[0] == "Honda" and makes[-1] == "Toyota"


def test_hubspots_limits_answer_400(fleet):
    too_many_groups = [[f("year", "EQ", "2000")]] * 6
    cases = [
        (dict(limit=201), "limit"),
        (dict(after="9900", limit=200), "10,000"),
        (dict(sorts=["vin", "year"]), "one sort"),
    ]
    for kw, text in cases:
        with pytest.raises(ApiException) as e:
            search(fleet, **kw)
        assert e.value.status == 400 and text in json.loads(e.value.body)["message"]
    with pytest.raises(ApiException) as e:
        search(fleet, *too_many_groups)
    assert e.value.status == 400 and "filterGroups" in json.loads(e.value.body)["message"]
    with pytest.raises(ApiException) as e:
        search(fleet, [f("year", "LIKE", "2")])
    assert "unknown operator" in json.loads(e.value.body)["message"]
    with pytest.raises(ApiException) as e:
        search(fleet, [f("colour", "EQ", "gray")])
    assert "not a property" in json.loads(e.value.body)["message"]


def test_contacts_are_searched_by_their_hubspot_names(server, api, account):
    r = api.post(
        "/v3/events/batch",
        json={"events": [{"event_name": "x", "identifiers": {"email_id": "Ann@Example.com"}}]},
    )
    wait_process(api, r.json()["processId"])
    client = HubSpot(access_token=account[1], host=server.base_url)
    request = PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=[f("email", "EQ", "ann@example.com")])],
        properties=["email"],
    )
    found = client.crm.contacts.search_api.do_search(public_object_search_request=request)
    assert found.total == 1 and found.results[0].properties["email"] == "ann@example.com"
