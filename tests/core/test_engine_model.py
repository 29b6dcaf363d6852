"""Model-based test: random sequences of batches applied through the real engine (accept, worker,
SQL) and, in parallel, to a plain in-memory model of the semantics in the specs. After every
batch the per-record results and the stored records, links and link labels must equal the model's.

The model is deliberately naive (one command at a time, dicts and sets), so that it states the
rules rather than the engine's implementation of them.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from crmbatch.config import Settings
from crmbatch.core.accounts import service as accounts
from crmbatch.core.processes import service as processes
from crmbatch.core.records import store as records_store
from crmbatch.core.schema import labels
from crmbatch.core.schema import service as schemas
from crmbatch.db.engine import Database
from crmbatch.worker import drain
from tests.conftest import VEHICLE_SCHEMA
from tests.helpers import all_records, submit

EXT_IDS = ["e1", "e2", "e3"]
VINS = ["V1", "V2", "V3"]
GARAGES = ["g1", "g2", "g3"]  # g3 never exists: links to it fail
LABELS = ["serviced", "owner"]  # association labels between vehicle and garage


@dataclass
class Rec:
    ext_id: str | None
    attributes: dict[str, Any]
    #: garage ext_id → the labels of the link
    links: dict[str, frozenset[str]] = field(default_factory=dict)


class Model:
    """The rules of brevo.md and native.md, one command at a time."""

    def __init__(self) -> None:
        self.records: dict[int, Rec] = {}

    def _by_ext(self, ext_id: str) -> int | None:
        return next((i for i, r in self.records.items() if r.ext_id == ext_id), None)

    def _by_vin(self, vin: str) -> int | None:
        return next((i for i, r in self.records.items() if r.attributes.get("vin") == vin), None)

    def apply(self, c: dict[str, Any], new_id: int | None) -> tuple[str, str | None, int | None]:
        """(status, error code, record id); ``new_id`` is the id the engine gave a new record."""
        rid: int | None
        if "id" in c:
            rid = c["id"] if c["id"] in self.records else None
            if rid is None:
                return "failed", "record_not_found", None
        elif "match" in c:
            rid = self._by_vin(c["match"][1])
            if (
                rid is not None
                and "ext_id" in c
                and self.records[rid].ext_id not in (None, c["ext_id"])
            ):
                return "failed", "identifier_conflict", None
            if rid is None and "ext_id" in c:
                rid = self._by_ext(c["ext_id"])
        elif "ext_id" in c:
            rid = self._by_ext(c["ext_id"])
        else:
            rid = None
        holder = self._by_ext(c["ext_id"]) if "ext_id" in c else None
        if holder is not None and holder != rid:  # an ext_id is never taken over
            return "failed", "ext_id_taken", None
        for a in c.get("associations", []):
            if any(r["ext_id"] not in ("g1", "g2") for r in a["records"]):
                return "failed", "association_target_not_found", None
        attrs = dict(c["attributes"])
        if "match" in c:
            attrs.setdefault("vin", c["match"][1])
        vin = attrs.get("vin")
        if vin is not None:
            owner = self._by_vin(vin)
            if owner is not None and owner != rid:
                return "failed", "unique_violation", None
        if rid is None:
            assert new_id is not None
            rid, rec, status = new_id, Rec(None, {}), "created"
            self.records[rid] = rec
        else:
            rec, status = self.records[rid], None
        before = (rec.ext_id, dict(rec.attributes), dict(rec.links))
        for k, v in attrs.items():
            if v is None:
                rec.attributes.pop(k, None)
            else:
                rec.attributes[k] = v
        if "ext_id" in c:
            rec.ext_id = c["ext_id"]
        for a in c.get("associations", []):
            labels = frozenset(a.get("label_names", ()))
            for name in (r["ext_id"] for r in a["records"]):
                if a["action"] == "link":  # makes the link, adds the labels
                    rec.links[name] = rec.links.get(name, frozenset()) | labels
                elif labels:  # takes only those labels off
                    if name in rec.links:
                        rec.links[name] -= labels
                else:
                    rec.links.pop(name, None)
        if status is None:
            status = "updated" if (rec.ext_id, rec.attributes, rec.links) != before else "unchanged"
        return status, None, rid

    def delete(self, ext_ids: list[str]) -> list[str]:
        out = []
        for e in ext_ids:
            rid = self._by_ext(e)
            if rid is None:
                out.append("failed")
            else:
                del self.records[rid]
                out.append("deleted")
        return out


ids = st.fixed_dictionaries({}, optional={"ext_id": st.sampled_from(EXT_IDS)})
attributes = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["a", "b"]),
        "year": st.one_of(st.none(), st.integers(1990, 1992)),
        "vin": st.one_of(st.none(), st.sampled_from(VINS)),
    },
)
links = st.lists(
    st.fixed_dictionaries(
        {
            "object_type": st.just("garage"),
            "action": st.sampled_from(["link", "unlink"]),
            "records": st.lists(
                st.builds(lambda e: {"ext_id": e}, st.sampled_from(GARAGES)), min_size=1, max_size=2
            ),
        },
        optional={"label_names": st.lists(st.sampled_from(LABELS), max_size=2, unique=True)},
    ),
    max_size=2,
)


@st.composite
def commands(draw: Any, known: list[int]) -> dict[str, Any]:
    c: dict[str, Any] = dict(draw(ids))
    how = draw(st.sampled_from(["plain", "id", "bogus_id", "match"]))
    if how == "id" and known:
        c["id"] = draw(st.sampled_from(known))
    elif how == "bogus_id":
        c["id"] = 10**9
    elif how == "match":
        c["match"] = ["vin", draw(st.sampled_from(VINS))]
    c["attributes"] = draw(attributes)
    assoc = draw(links)
    if assoc:
        c["associations"] = assoc
    if not c["attributes"] and not assoc:
        c["attributes"] = {"model": "a"}
    return c


def make_machine(database_url: str) -> type[RuleBasedStateMachine]:
    db = Database(database_url, pool_size=2)
    run_settings = Settings(database_url=database_url)

    class Engine(RuleBasedStateMachine):
        @initialize()
        def account(self) -> None:
            with db.write() as conn:
                acct, _ = accounts.create_account(conn, f"m-{uuid.uuid4().hex[:10]}")
                schemas.apply(conn, acct.id, VEHICLE_SCHEMA)
            self.account_id = acct.id
            self.model = Model()
            garages = [{"ext_id": g, "attributes": {"name": g}} for g in ("g1", "g2")]
            submit(db, acct.id, garages, object_type="garage")
            drain(db, run_settings)
            with db.write() as conn:
                self.labels = {
                    name: labels.create(
                        conn, acct.id, "vehicle", "garage", name=name, label=name.title()
                    ).id
                    for name in LABELS
                }
            self.label_names = {i: name for name, i in self.labels.items()}

        def _engine(self, c: dict[str, Any]) -> dict[str, Any]:
            """The command as the engine takes it: labels by id."""
            entries = []
            for a in c.get("associations", []):
                a = dict(a)
                names = a.pop("label_names", None)
                if names:
                    a["labels"] = [self.labels[n] for n in names]
                entries.append(a)
            return {**c, "associations": entries} if entries else c

        def _run(self, pid: int) -> dict[str, Any]:
            drain(db, run_settings)
            with db.read() as conn:
                return processes.full(conn, self.account_id, pid)

        @rule(data=st.data())
        def upsert(self, data: Any) -> None:
            batch = data.draw(st.lists(commands(list(self.model.records)), min_size=1, max_size=5))
            full = self._run(submit(db, self.account_id, [self._engine(c) for c in batch]))
            for c, got in zip(batch, full["results"], strict=True):
                new_id = got["id"] if got["status"] == "created" else None
                status, code, rid = self.model.apply(c, new_id)
                assert got["status"] == status, (c, got)
                assert (got["errors"][0]["code"] if got["errors"] else None) == code, (c, got)
                # a failed record is reported with the identifiers its command named
                assert got["id"] == (c.get("id") if status == "failed" else rid), (c, got)
                if status == "failed":
                    assert got["ext_id"] == c.get("ext_id"), (c, got)

        @rule(doomed=st.lists(st.sampled_from(EXT_IDS), min_size=1, max_size=2, unique=True))
        def delete(self, doomed: list[str]) -> None:
            with db.write() as conn:
                from crmbatch.core.records import service as records

                pid = records.accept_delete(
                    conn, self.account_id, "vehicle", ids=None, ext_ids=doomed, dialect="test"
                ).process_id
            full = self._run(pid)
            assert [r["status"] for r in full["results"]] == self.model.delete(doomed)

        @invariant()
        def stored_equals_model(self) -> None:
            if not hasattr(self, "model"):
                return
            garage_ids = {r["id"]: r["ext_id"] for r in all_records(db, self.account_id, "garage")}
            cars = all_records(db, self.account_id)
            with db.read() as conn:
                links = records_store.existing_links(
                    conn, [r["id"] for r in cars], list(garage_ids)
                )
            stored = {
                r["id"]: (
                    r["ext_id"],
                    r["attributes"],
                    {
                        garage_ids[i]: frozenset(self.label_names[x] for x in links[(r["id"], i)])
                        for a in r["associations"]
                        for i in a["ids"]
                    },
                )
                for r in cars
            }
            expected = {i: (r.ext_id, r.attributes, r.links) for i, r in self.model.records.items()}
            assert stored == expected

    return Engine


#: CRMBATCH_MODEL_EXAMPLES raises the number of sequences tried (a longer hunt than CI's)
EXAMPLES = int(os.environ.get("CRMBATCH_MODEL_EXAMPLES", "15"))


@pytest.mark.parametrize("steps", [6])
def test_engine_follows_the_model(database_url: str, steps: int) -> None:
    machine = make_machine(database_url)
    machine.TestCase.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    machine.TestCase().runTest()
