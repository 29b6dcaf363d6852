"""The bulk reads of a planned batch (see :mod:`crmbatch.core.records.plan`): everything its
commands name, a constant number of statements whatever their number."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crmbatch.core.records import store
from crmbatch.core.schema.model import ID_AS_EXT_ID

if TYPE_CHECKING:
    from crmbatch.core.records.plan import Batch


def _is_id(text: str) -> bool:
    return text.isdigit() and len(text) <= 18


def _wanted(
    batch: Batch,
) -> tuple[set[int], set[str], set[tuple[str, str]], dict[str, tuple[set[int], set[str]]]]:
    """The ids, ext_ids, unique values and association targets the commands name."""
    ids: set[int] = set()
    ext_ids: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    wanted: dict[str, tuple[set[int], set[str]]] = {}
    for c in batch.commands:
        if c.get("id") is not None:
            ids.add(c["id"])
        if c.get("ext_id") is not None:
            ext_ids.add(c["ext_id"])
        if c.get("match"):
            key, value = c["match"]
            pairs.add(batch.pair(key, value))
        for kind, value in (c.get("identify") or {}).items():
            if kind == "id":
                ids.add(value)
            elif kind == "ext_id":
                ext_ids.add(value)
            else:
                pairs.add(batch.pair(kind, value))
        attrs = c.get("attributes") or {}
        for key in batch.unique:
            value = attrs.get(key)
            if value is not None:
                pairs.add(batch.pair(key, value))
        for a in c.get("associations") or ():
            w = wanted.setdefault(a["object_type"], (set(), set()))
            for r in a["records"]:
                if r.get("id") is not None:
                    w[0].add(r["id"])
                elif r.get("ext_id") is not None:
                    w[1].add(r["ext_id"])
    return ids, ext_ids, pairs, wanted


def load(batch: Batch) -> None:
    """Read in bulk what a batch's commands name: its records by ext_id and id, the owners of
    the unique values they give, and the records and links their associations name."""
    ids, ext_ids, pairs, wanted = _wanted(batch)
    # the records named by ext_id first: the unique values they hold have a known owner
    # (the identifiers table mirrors them), so only the other values are looked up
    batch.loaded(store.fetch(batch.conn, batch.t.id, ext_ids=sorted(ext_ids)))
    owners = store.lookup_identifiers(
        batch.conn, batch.t.id, [p for p in pairs if p not in batch.initial_owners]
    )
    batch.initial_owners.update(owners)
    ids.update(owners.values())
    batch.loaded(store.fetch(batch.conn, batch.t.id, ids=sorted(ids - batch.by_id.keys())))
    batch.owners = dict(batch.initial_owners)
    other_ids: set[int] = set()
    for type_name, (tids, text) in wanted.items():
        other = batch.schema.types.get(type_name)
        by_id: dict[int, int] = {}
        by_ext: dict[str, int] = {}
        if other is not None:
            found = store.fetch(batch.conn, other.id, ids=sorted(tids))
            found += store.fetch(batch.conn, other.id, ext_ids=sorted(text))
            for rid, ext, _, archived in found:
                if not archived:
                    by_id[rid] = rid
                    if ext is not None:
                        by_ext[ext] = rid
            if other.name in ID_AS_EXT_ID:  # an ext_id no record holds may be an id
                ids_given = [int(e) for e in text - by_ext.keys() if _is_id(e)]
                for rid, _, _, archived in store.fetch(batch.conn, other.id, ids=ids_given):
                    if not archived:
                        by_id[rid] = by_ext[str(rid)] = rid
        batch.targets[type_name] = (by_id, by_ext)
        other_ids.update(by_id)
    if batch.t.name in wanted:
        other_ids.update(batch.by_id)
    linked = store.existing_links(batch.conn, sorted(batch.by_id), sorted(other_ids))
    batch.initial_links = {**linked, **{(b, a): labels for (a, b), labels in linked.items()}}
    batch.links = dict(batch.initial_links)
