"""HubSpot's association types ⇄ crmbatch's links and labels.

HubSpot names a kind of link by ``(associationCategory, associationTypeId)``, one per direction.
crmbatch has one link per pair of records, with the labels it carries; the type ids are derived:

- the plain (unlabelled) link of a pair: HubSpot's own ids for its standard pairs (contact →
  company 279, …), else ``4000 + 4 * definition id + direction`` (``USER_DEFINED``);
- a label: ``4002 + 4 * label id + direction`` (``USER_DEFINED``), where the direction is 1 when a
  paired label is read from its inverse side (or a plain link from the pair's second type).

The forms never meet: the derived ones differ modulo 4 and start above HubSpot's standard ids,
so a type id names one kind of link from a given type, and with it the type linked to (which
is how HubSpot's inline ``associations`` on create name their target's type).
"""

from __future__ import annotations

from dataclasses import dataclass

from crmbatch.core.errors import CrmError
from crmbatch.core.schema.model import AccountSchema, Label, ObjectType

#: HubSpot's ids of the plain link of its standard pairs, by (from, to)
STANDARD = {
    ("contact", "company"): 279,
    ("company", "contact"): 280,
    ("deal", "contact"): 3,
    ("contact", "deal"): 4,
    ("deal", "company"): 341,
    ("company", "deal"): 342,
}
#: HubSpot's "primary" kinds of those pairs: accepted as the plain link
PRIMARY = {
    ("contact", "company"): 1,
    ("company", "contact"): 2,
    ("deal", "company"): 5,
    ("company", "deal"): 6,
}
PLAIN_BASE = 4000
LABEL_BASE = 4002


@dataclass(frozen=True)
class AssociationType:
    category: str
    type_id: int
    #: None for the plain link
    label: str | None = None
    label_id: int | None = None

    def out(self) -> dict[str, object]:
        return {"category": self.category, "typeId": self.type_id, "label": self.label}


def _not_associated(a: ObjectType, b: ObjectType) -> CrmError:
    return CrmError(
        f"no association is defined between {a.name} and {b.name}: define it in the schema "
        "first (the schema's associatedObjects, or the schema document)",
        field="toObjectType",
    )


def plain(schema: AccountSchema, a: ObjectType, b: ObjectType) -> AssociationType:
    """The unlabelled link from ``a`` to ``b``."""
    standard = STANDARD.get((a.name, b.name))
    if standard is not None:
        return AssociationType("HUBSPOT_DEFINED", standard)
    found = schema.pairs.get(frozenset((a.name, b.name)))
    if found is None:
        raise _not_associated(a, b)
    direction = 0 if a.name == found.first else 1
    return AssociationType("USER_DEFINED", PLAIN_BASE + 4 * found.id + direction)


def labelled(label: Label, a: ObjectType) -> AssociationType:
    """A label as it reads from ``a``'s side."""
    inverse = label.inverse_label is not None and a.name != label.from_type
    return AssociationType(
        "USER_DEFINED", LABEL_BASE + 4 * label.id + int(inverse), label.seen_from(a.name), label.id
    )


def of_pair(schema: AccountSchema, a: ObjectType, b: ObjectType) -> list[AssociationType]:
    """Every kind of link from ``a`` to ``b``: the plain one first, then the labels."""
    return [plain(schema, a, b)] + [labelled(x, a) for x in schema.labels_between(a.name, b.name)]


def label_ids(
    schema: AccountSchema, a: ObjectType, b: ObjectType, type_ids: list[int], where: str
) -> list[int]:
    """The labels the given type ids name (the plain link's ids name none); unknown → 400."""
    known = {t.type_id: t for t in of_pair(schema, a, b)}
    extra = PRIMARY.get((a.name, b.name))
    out: list[int] = []
    for type_id in type_ids:
        if type_id == extra:
            continue
        found = known.get(type_id)
        if found is None:
            raise CrmError(
                f"{where}: association type {type_id} is not defined from {a.name} to {b.name}; "
                f"GET /crm/v4/associations/{a.name}/{b.name}/labels lists the kinds",
                field="types",
            )
        if found.label_id is not None:
            out.append(found.label_id)
    return out


def shown(
    schema: AccountSchema, a: ObjectType, b: ObjectType, labels: frozenset[int]
) -> list[dict[str, object]]:
    """A link's kinds as read from ``a``: the plain link (every link has it, as on HubSpot),
    then each label it carries."""
    kinds = [plain(schema, a, b)]
    kinds += [labelled(schema.labels[i], a) for i in sorted(labels) if i in schema.labels]
    return [k.out() for k in kinds]


def label_of_type(schema: AccountSchema, a: ObjectType, b: ObjectType, type_id: int) -> int:
    """The label a type id of the pair names (for the label routes); the plain link is none."""
    for t in of_pair(schema, a, b):
        if t.type_id == type_id and t.label_id is not None:
            return t.label_id
    raise CrmError(
        f"association type {type_id} is not a label from {a.name} to {b.name}",
        field="associationTypeId",
    )


def target_of(
    schema: AccountSchema, a: ObjectType, type_id: int, where: str
) -> tuple[ObjectType, list[int]]:
    """The type a type id links ``a`` to, and the label it names (none for the plain link)."""
    for name in sorted(a.associations):
        b = schema.types[name]
        if PRIMARY.get((a.name, b.name)) == type_id:
            return b, []
        for kind in of_pair(schema, a, b):
            if kind.type_id == type_id:
                return b, [] if kind.label_id is None else [kind.label_id]
    raise CrmError(
        f"{where}: association type {type_id} links {a.name} to nothing; "
        f"GET /crm/v4/associations/{a.name}/{{toObjectType}}/labels lists the kinds",
        field="associations",
    )
