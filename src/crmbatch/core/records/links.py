"""The associations of a record command, as the planner applies them: which records they name,
and what they do to the batch's links (and their labels) in memory. See the rules in
:mod:`crmbatch.core.records.plan`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmbatch.core.records.failures import Failure

if TYPE_CHECKING:
    from crmbatch.core.records.plan import Batch, Rec

#: one association of a command: (link?, the other record's id, the labels it names)
LinkOp = tuple[bool, int, frozenset[int]]
#: (record, other) → the labels of the link; both directions are keys
Links = dict[tuple[int, int], frozenset[int]]


def _labels(batch: Batch, name: str, given: list[int] | None, where: str) -> frozenset[int]:
    """The labels an association entry names, each one of the pair's."""
    if not given:
        return frozenset()
    pair = frozenset((batch.t.name, name))
    for label_id in given:
        label = batch.schema.labels.get(label_id)
        if label is None or label.pair != pair:
            raise Failure(
                "association_label_not_defined",
                f"{where}.labels",
                f"association label {label_id} is not defined between {batch.t.name} and {name}",
            )
    return frozenset(given)


def _target(batch: Batch, name: str, r: dict[str, Any]) -> tuple[int | None, str]:
    """The record an entry names (of type ``name``), and how messages name it."""
    by_id, by_ext = batch.targets.get(name, ({}, {}))
    same_type = name == batch.t.name
    if r.get("id") is not None:
        target = by_id.get(r["id"])
        if target is None and same_type:
            same = batch.by_id.get(r["id"])
            target = same.id if same else None
        return target, f"id {r['id']}"
    target = by_ext.get(r.get("ext_id") or "")
    if target is None and same_type:
        same = batch.by_ext.get(r.get("ext_id") or "")
        target = same.id if same else None
    return target, f"ext_id {r.get('ext_id')!r}"


def operations(batch: Batch, rec: Rec, c: dict[str, Any]) -> list[LinkOp]:
    """(link?, target record id, labels) for each associated record, in the order given."""
    ops: list[LinkOp] = []
    for i, a in enumerate(c.get("associations") or ()):
        name = a["object_type"]
        where = f"associations[{i}]"
        if name not in batch.t.associations:
            raise Failure(
                "association_not_defined",
                f"{where}.object_type",
                f"no association is defined between {batch.t.name} and {name!r}",
            )
        labels = _labels(batch, name, a.get("labels"), where)
        for j, r in enumerate(a["records"]):
            target, named = _target(batch, name, r)
            if target is None:
                raise Failure(
                    "association_target_not_found",
                    f"{where}.records[{j}].identifiers",
                    f"no {name} record has {named}",
                )
            ops.append((a.get("action") != "unlink", target, labels))
    return ops


def apply(links: Links, record_id: int, ops: list[LinkOp]) -> bool:
    """Apply link operations in order (``unlink g, link g`` ends linked); did they change
    anything?"""
    if not ops:
        return False
    others = [o for _, o, _ in ops]
    before = {o: links.get((record_id, o)) for o in others}
    for link, other, labels in ops:
        now = links.get((record_id, other))
        if link:
            after: frozenset[int] | None = (now or frozenset()) | labels
        elif labels:
            after = None if now is None else now - labels
        else:
            after = None
        if after is None:
            links.pop((record_id, other), None)
            links.pop((other, record_id), None)
        else:
            links[(record_id, other)] = links[(other, record_id)] = after
    return before != {o: links.get((record_id, o)) for o in others}
