"""The schema document (native.md): parse and validate it, and build it back for export."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from crmbatch.core.errors import InvalidInput
from crmbatch.core.schema.model import (
    ATTRIBUTE_KEY,
    ATTRIBUTE_TYPES,
    BUILTIN_ATTRIBUTES,
    MAX_ATTRIBUTES,
    OPTION_KEY,
    OPTION_TYPES,
    RESERVED_TYPES,
    SYSTEM_PRIMARY,
    SYSTEM_TYPES,
    TYPE_NAME,
    UNIQUE_TYPES,
    AccountSchema,
)


@dataclass
class AttributeSpec:
    key: str
    type: str
    label: str
    unique: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    #: the property group it is shown in (None: the type's default group)
    group: str | None = None


@dataclass
class TypeSpec:
    name: str
    label: str
    primary_attribute: str | None
    attributes: dict[str, AttributeSpec]
    associations: list[str]
    #: how the type presents itself (see :data:`SETTINGS`); only the keys the document gives
    settings: dict[str, Any] = field(default_factory=dict)


#: a type's presentation settings: its plural label and description, the attributes a new record
#: is expected to give (``required``: HubSpot's requiredProperties, shown, not enforced), those its
#: text search looks in (``searchable``) and shows beside the primary one (``secondary``), and its
#: property groups (name → label, in order)
SETTINGS = ("plural", "description", "required", "searchable", "secondary", "groups")
GROUP_NAME = re.compile(r"^[a-z0-9_]{1,100}$")


def default_group(type_name: str) -> str:
    """The property group every type has (HubSpot's ``<type>information``)."""
    return f"{type_name}information"


def _settings(
    raw: dict[str, Any],
    name: str,
    attrs: dict[str, AttributeSpec],
    where: str,
    problems: list[tuple[str, str]],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("plural", "description"):
        if raw.get(key) is not None:
            out[key] = _label(raw[key], name, f"{where}.{key}", problems)
    known = set(attrs) | {a.key for a in BUILTIN_ATTRIBUTES.get(name, ())}
    for key in ("required", "searchable", "secondary"):
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append((f"{where}.{key}", "must be a list of attribute keys"))
            continue
        unknown = [v for v in value if v not in known]
        if unknown:
            problems.append((f"{where}.{key}", f"not attributes of {name}: {unknown}"))
            continue
        out[key] = list(dict.fromkeys(value))
    groups = raw.get("groups")
    if groups is not None:
        if not isinstance(groups, dict):
            problems.append((f"{where}.groups", "must be a mapping of group name to label"))
            groups = {}
        for group, label in groups.items():
            if not isinstance(group, str) or not GROUP_NAME.match(group):
                problems.append((f"{where}.groups", "group names match ^[a-z0-9_]{1,100}$"))
            else:
                _label(label, group, f"{where}.groups.{group}", problems)
        out["groups"] = {g: (v if isinstance(v, str) else g) for g, v in groups.items()}
    allowed = set(out.get("groups") or {}) | {default_group(name)}
    for key, a in attrs.items():
        if a.group is not None and a.group not in allowed:
            problems.append(
                (f"{where}.attributes.{key}.group", f"{a.group!r} is not a group of {name}")
            )
    return out


def _label(value: Any, default: str, where: str, problems: list[tuple[str, str]]) -> str:
    if value is None:
        return default
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        problems.append((where, "must be a non-empty string of at most 255 characters"))
        return default
    return value


def _attribute(
    key: Any, raw: Any, where: str, problems: list[tuple[str, str]]
) -> AttributeSpec | None:
    if not isinstance(key, str) or not ATTRIBUTE_KEY.match(key):
        problems.append((where, "attribute keys are letters, digits and _, at most 255"))
        return None
    if isinstance(raw, str):  # shorthand: `year: number`
        raw = {"type": raw}
    if not isinstance(raw, dict):
        problems.append((where, "must be a mapping with at least 'type'"))
        return None
    unknown = set(raw) - {"id", "type", "label", "unique", "options", "group"}
    if unknown:
        problems.append((where, f"unknown field(s) {sorted(unknown)}"))
    typ = raw.get("type")
    if typ not in ATTRIBUTE_TYPES:
        problems.append((f"{where}.type", f"must be one of {', '.join(ATTRIBUTE_TYPES)}"))
        return None
    unique = raw.get("unique", False)
    if not isinstance(unique, bool):
        problems.append((f"{where}.unique", "must be true or false"))
        unique = False
    if unique and typ not in UNIQUE_TYPES:
        problems.append((f"{where}.unique", f"only {', '.join(UNIQUE_TYPES)} can be unique"))
    options: list[tuple[str, str]] = []
    raw_options = raw.get("options")
    if typ in OPTION_TYPES:
        if not isinstance(raw_options, list) or not raw_options:
            problems.append((f"{where}.options", f"a {typ} attribute needs a list of options"))
        else:
            seen: set[str] = set()
            for i, opt in enumerate(raw_options):
                at = f"{where}.options[{i}]"
                if isinstance(opt, str):
                    opt = {"key": opt}
                if not isinstance(opt, dict) or not isinstance(opt.get("key"), str):
                    problems.append((at, "must be {key, label}"))
                    continue
                okey = opt["key"]
                if not OPTION_KEY.match(okey):
                    problems.append((f"{at}.key", "option keys are letters, digits, _ and -"))
                    continue
                if okey in seen:
                    problems.append((f"{at}.key", f"duplicate option key {okey!r}"))
                    continue
                seen.add(okey)
                options.append((okey, _label(opt.get("label"), okey, f"{at}.label", problems)))
    elif raw_options is not None:
        problems.append((f"{where}.options", f"only {' and '.join(OPTION_TYPES)} take options"))
    label = _label(raw.get("label"), key, f"{where}.label", problems)
    group = raw.get("group")
    if group is not None and not isinstance(group, str):
        problems.append((f"{where}.group", "must be a property group's name"))
        group = None
    return AttributeSpec(
        key=key, type=typ, label=label, unique=unique, options=options, group=group
    )


def _primary(
    name: str,
    primary: Any,
    attrs: dict[str, AttributeSpec],
    where: str,
    problems: list[tuple[str, str]],
) -> str | None:
    """A type's primary attribute: a text attribute of a custom type; fixed for system types."""
    where = f"{where}.primary_attribute"
    if name in SYSTEM_TYPES:
        fixed = SYSTEM_PRIMARY.get(name)
        if primary is not None and primary != fixed:
            problems.append(
                (
                    where,
                    f"{name}'s primary attribute is {fixed}" if fixed else "system types have none",
                )
            )
        return fixed
    if primary is None:
        problems.append((where, "required for custom types"))
    elif primary not in attrs:
        problems.append((where, f"{primary!r} is not an attribute"))
    elif attrs[primary].type != "text":
        problems.append((where, "must be a text attribute"))
    return primary if isinstance(primary, str) else None


def parse_document(doc: Any) -> dict[str, TypeSpec]:
    """Validate a schema document; raise :class:`InvalidInput` naming every problem."""
    problems: list[tuple[str, str]] = []
    if not isinstance(doc, dict):
        raise InvalidInput([("", "the schema document must be a mapping with 'object_types'")])
    unknown = set(doc) - {"object_types"}
    if unknown:
        problems.append(("", f"unknown top-level field(s) {sorted(unknown)}"))
    raw_types = doc.get("object_types") or {}
    if not isinstance(raw_types, dict):
        raise InvalidInput([("object_types", "must be a mapping of type name to definition")])
    specs: dict[str, TypeSpec] = {}
    for name, raw in raw_types.items():
        where = f"object_types.{name}"
        if not isinstance(name, str) or not TYPE_NAME.match(name):
            problems.append((where, "type names match ^[a-z][a-z0-9_]{0,31}$"))
            continue
        if name in RESERVED_TYPES and name not in SYSTEM_TYPES:
            problems.append((where, f"{name!r} is reserved for a system object"))
            continue
        raw = raw or {}
        if not isinstance(raw, dict):
            problems.append((where, "must be a mapping"))
            continue
        unknown = set(raw) - {"label", "primary_attribute", "attributes", "associations", *SETTINGS}
        if unknown:
            problems.append((where, f"unknown field(s) {sorted(unknown)}"))
        raw_attrs = raw.get("attributes") or {}
        if not isinstance(raw_attrs, dict):
            problems.append((f"{where}.attributes", "must be a mapping of key to definition"))
            raw_attrs = {}
        if len(raw_attrs) > MAX_ATTRIBUTES:
            problems.append(
                (f"{where}.attributes", f"at most {MAX_ATTRIBUTES} attributes per object type")
            )
        attrs: dict[str, AttributeSpec] = {}
        builtin = {a.key for a in BUILTIN_ATTRIBUTES.get(name, ())}
        for key, raw_attr in raw_attrs.items():
            if key in builtin:
                problems.append(
                    (f"{where}.attributes.{key}", f"{key} is built into {name}; leave it out")
                )
                continue
            attr_spec = _attribute(key, raw_attr, f"{where}.attributes.{key}", problems)
            if attr_spec is not None:
                attrs[attr_spec.key] = attr_spec
        is_system = name in SYSTEM_TYPES
        primary = _primary(name, raw.get("primary_attribute"), attrs, where, problems)
        assocs = raw.get("associations") or []
        if not isinstance(assocs, list) or not all(isinstance(a, str) for a in assocs):
            problems.append((f"{where}.associations", "must be a list of object type names"))
            assocs = []
        label = _label(raw.get("label"), name.capitalize() if is_system else name, where, problems)
        settings = _settings(raw, name, attrs, where, problems)
        specs[name] = TypeSpec(name, label, primary, attrs, list(dict.fromkeys(assocs)), settings)
    names = set(specs) | set(SYSTEM_TYPES)
    for spec in specs.values():
        for other in spec.associations:
            if other not in names:
                problems.append(
                    (f"object_types.{spec.name}.associations", f"unknown object type {other!r}")
                )
    if problems:
        raise InvalidInput(problems)
    return specs


def export_document(schema: AccountSchema) -> dict[str, Any]:
    """The account's schema as a document; attributes carry their stable ``id``."""
    out: dict[str, Any] = {}
    for name in sorted(schema.types, key=lambda n: (not schema.types[n].is_system, n)):
        t = schema.types[name]
        attrs: dict[str, Any] = {}
        for a in t.attributes.values():
            if a.builtin:
                continue
            entry: dict[str, Any] = {"id": a.id, "type": a.type, "label": a.label}
            if a.unique:
                entry["unique"] = True
            if a.options:
                entry["options"] = [{"key": o.key, "label": o.label} for o in a.options]
            group = (t.settings.get("attribute_groups") or {}).get(a.key)
            if group is not None:
                entry["group"] = group
            attrs[a.key] = entry
        body: dict[str, Any] = {"label": t.label}
        if t.primary_attribute:
            body["primary_attribute"] = t.primary_attribute
        body["attributes"] = attrs
        body["associations"] = sorted(t.associations)
        body.update({k: t.settings[k] for k in SETTINGS if k in t.settings})
        out[name] = body
    return {"object_types": out}
