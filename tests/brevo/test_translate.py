"""The upsert fast path never accepts what the wire model refuses, nor reads it differently."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import event, given, settings
from hypothesis import strategies as st

from crmbatch.core.errors import CrmError
from crmbatch.dialects.brevo import translate, wire
from crmbatch.dialects.common import parse

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=3),
)
identifiers = st.one_of(
    scalars,
    st.dictionaries(st.sampled_from(["id", "ext_id", "ids"]), scalars, max_size=2),
    st.fixed_dictionaries({}, optional={"id": st.integers(-1, 5), "ext_id": st.text(max_size=3)}),
)
association = st.one_of(
    scalars,
    st.fixed_dictionaries(
        {"object_type": st.one_of(st.text(max_size=3), scalars)},
        optional={
            "action": st.sampled_from(["link", "unlink", "relink", None]),
            "records": st.lists(
                st.one_of(scalars, st.fixed_dictionaries({"identifiers": identifiers})), max_size=2
            ),
            "extra": scalars,
        },
    ),
)
record = st.one_of(
    scalars,
    st.fixed_dictionaries(
        {},
        optional={
            "identifiers": identifiers,
            "attributes": st.one_of(
                scalars, st.dictionaries(st.text(max_size=3), scalars, max_size=2)
            ),
            "associations": st.one_of(scalars, st.lists(association, max_size=2)),
            "other": scalars,
        },
    ),
)
# mostly well-formed bodies, so that the accepting branch of the fast path is exercised too
good_ids = st.fixed_dictionaries(
    {}, optional={"id": st.integers(1, 10**12), "ext_id": st.text(min_size=1, max_size=5)}
)
good_ref = st.builds(
    lambda i: {"identifiers": i},
    st.one_of(
        st.fixed_dictionaries({"id": st.integers(1, 99)}),
        st.fixed_dictionaries({"ext_id": st.text(min_size=1, max_size=4)}),
    ),
)
good_assoc = st.fixed_dictionaries(
    {
        "object_type": st.text(min_size=1, max_size=8),
        "records": st.lists(good_ref, min_size=1, max_size=3),
    },
    optional={"action": st.sampled_from(["link", "unlink"])},
)
good_record = st.fixed_dictionaries(
    {"attributes": st.dictionaries(st.text(max_size=4), scalars, min_size=1, max_size=3)},
    optional={"identifiers": good_ids, "associations": st.lists(good_assoc, max_size=2)},
)
good_bodies = st.fixed_dictionaries({"records": st.lists(good_record, max_size=4)})
mixed_bodies = st.fixed_dictionaries(
    {"records": st.lists(st.one_of(good_record, record), max_size=4)}
)

bodies = st.one_of(
    good_bodies,
    good_bodies,
    mixed_bodies,
    scalars,
    st.fixed_dictionaries({"records": st.one_of(scalars, st.lists(record, max_size=3))}),
    st.dictionaries(st.sampled_from(["records", "x"]), st.lists(record, max_size=2), max_size=2),
)


def by_model(body: Any) -> list[dict[str, Any]] | None:
    try:
        return translate.upsert_commands(parse(orjson.dumps(body), wire.UpsertRequest))
    except CrmError:
        return None


@settings(max_examples=1500, deadline=None)
@given(bodies)
def test_fast_path_agrees_with_the_model(body):
    fast = translate.fast_upsert_commands(body)
    event("fast path" if fast is not None else "model decides")
    if fast is not None:
        assert fast == by_model(body)


def test_fast_path_takes_the_ordinary_shape():
    body = {
        "records": [
            {"identifiers": {"ext_id": "a"}, "attributes": {"x": 1}},
            {
                "attributes": {"y": [1]},
                "associations": [
                    {"object_type": "garage", "records": [{"identifiers": {"id": 3}}]}
                ],
            },
        ]
    }
    assert translate.fast_upsert_commands(body) == by_model(body)
    assert translate.fast_upsert_commands(body) is not None
