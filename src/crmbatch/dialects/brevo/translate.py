"""Brevo wire ⇄ core: requests into record commands, core results and errors into Brevo bodies."""

from __future__ import annotations

from typing import Any

from crmbatch.core import clock
from crmbatch.core.errors import CrmError
from crmbatch.dialects.brevo import wire

#: core error kind → (HTTP status, Brevo error code)
ERROR_CODES = {
    "invalid": (400, "invalid_parameter"),
    "missing": (400, "missing_parameter"),
    "duplicate": (400, "duplicate_parameter"),
    "out_of_range": (400, "out_of_range"),
    "unauthorized": (401, "unauthorized"),
    "forbidden": (403, "permission_denied"),
    "not_found": (404, "document_not_found"),
    "conflict": (409, "duplicate_request"),
    "too_large": (413, "out_of_range"),
    "unsupported_media_type": (415, "invalid_parameter"),
    "dependency": (424, "unprocessable_entity"),
    # the body names what does not exist (a list, a folder, a contact to update): Brevo's 400
    "unprocessable": (400, "document_not_found"),
    "rate_limited": (429, "too_many_requests"),
    "unavailable": (503, "service_unavailable"),
    "method_not_allowed": (405, "method_not_allowed"),
    "internal": (500, "internal_error"),
}

PROCESS_NAMES = {
    "objects_upsert": "OBJECT_RECORDS_UPSERT",
    "objects_delete": "OBJECT_RECORDS_DELETE",
    "events_batch": "EVENTS_BATCH",
    "contacts_import": "IMPORTUSER",
    "contacts_write": "CONTACTS_WRITE",
    "contacts_batch": "CONTACTS_BATCH",
}


def error_body(exc: CrmError) -> tuple[int, dict[str, str]]:
    status, code = ERROR_CODES.get(exc.kind, (exc.status, "bad_request"))
    return status, {"code": code, "message": exc.message}


def _identifiers(ids: wire.RecordIdentifiers | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if ids is not None:
        if ids.id is not None:
            out["id"] = ids.id
        if ids.ext_id is not None:
            out["ext_id"] = ids.ext_id
    return out


def upsert_commands(body: wire.UpsertRequest) -> list[dict[str, Any]]:
    commands = []
    for r in body.records:
        c = _identifiers(r.identifiers)
        c["attributes"] = r.attributes
        if r.associations:
            c["associations"] = [
                {
                    "object_type": a.object_type,
                    "action": a.action,
                    "records": [_identifiers(x.identifiers) for x in a.records],
                }
                for a in r.associations
            ]
        commands.append(c)
    return commands


_RECORD_KEYS = frozenset(("identifiers", "attributes", "associations"))
_ASSOC_KEYS = frozenset(("object_type", "action", "records"))


def _fast_ids(raw: Any) -> dict[str, Any] | None:
    if type(raw) is not dict or not raw.keys() <= {"id", "ext_id"}:
        return None
    out: dict[str, Any] = {}
    rid = raw.get("id")
    if rid is not None:
        if type(rid) is not int or not 1 <= rid <= wire.MAX_ID:
            return None
        out["id"] = rid
    ext = raw.get("ext_id")
    if ext is not None:
        if type(ext) is not str or not 1 <= len(ext) <= 255 or "\x00" in ext:
            return None
        out["ext_id"] = ext
    return out


def fast_upsert_commands(data: Any) -> list[dict[str, Any]] | None:
    """The commands of a plainly well-formed upsert body, or ``None`` to let the wire model
    decide (and explain). Stricter than :class:`wire.UpsertRequest`: whatever it accepts, the
    model accepts with the same meaning (a property test holds it to that)."""
    if type(data) is not dict or data.keys() != {"records"}:
        return None
    records = data["records"]
    if type(records) is not list:
        return None
    commands: list[dict[str, Any]] = []
    for r in records:
        if type(r) is not dict or not r.keys() <= _RECORD_KEYS:
            return None
        ids = r.get("identifiers")
        c = {} if ids is None else _fast_ids(ids)
        if c is None:
            return None
        attrs = r.get("attributes", {})
        if type(attrs) is not dict:
            return None
        c["attributes"] = attrs
        assocs = r.get("associations")
        if assocs is not None:
            if type(assocs) is not list:
                return None
            out = []
            for a in assocs:
                if type(a) is not dict or not a.keys() <= _ASSOC_KEYS:
                    return None
                name, action, targets = (
                    a.get("object_type"),
                    a.get("action", "link"),
                    a.get("records"),
                )
                if type(name) is not str or not 1 <= len(name) <= 32:
                    return None
                if action not in ("link", "unlink") or type(targets) is not list or not targets:
                    return None
                refs = []
                for t in targets:
                    if type(t) is not dict or t.keys() != {"identifiers"}:
                        return None
                    ref = _fast_ids(t["identifiers"])
                    if not ref:
                        return None
                    refs.append(ref)
                out.append({"object_type": name, "action": action, "records": refs})
            if out:
                c["associations"] = out
        if not attrs and "associations" not in c:
            return None
        commands.append(c)
    return commands


def record_out(item: dict[str, Any]) -> dict[str, Any]:
    ids: dict[str, Any] = {"id": item["id"]}
    if item["ext_id"] is not None:
        ids["ext_id"] = item["ext_id"]
    out: dict[str, Any] = {
        "identifiers": ids,
        "attributes": item["attributes"],
        "createdAt": clock.iso(item["created_at"]),
        "updatedAt": clock.iso(item["updated_at"]),
    }
    if "associations" in item:
        out["associations"] = [
            {
                "object_type": a["object_type"],
                "records": [{"identifiers": {"id": i}} for i in a["ids"]],
            }
            for a in item["associations"]
        ]
    return out


def process_out(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": PROCESS_NAMES.get(row["kind"], row["kind"].upper()),
        "status": row["status"],
        "info": {"results_url": f"/v1/processes/{row['id']}"},
    }


#: the engine's identifier kinds, as Brevo's events name them
EVENT_IDENTIFIERS = {
    "id": "contact_id",
    "EMAIL": "email_id",
    "ext_id": "ext_id",
    "SMS": "phone_id",
    "WHATSAPP": "whatsapp_id",
    "LANDLINE_NUMBER": "landline_number_id",
}
IDENTITY_FIELDS = {kind: f"identifiers.{name}" for kind, name in EVENT_IDENTIFIERS.items()}
#: ``identifierType`` of ``GET /v3/contacts/{identifier}`` → identifier kind
CONTACT_IDENTIFIER_TYPES = {name: kind for kind, name in EVENT_IDENTIFIERS.items()}


def event_in(raw: Any) -> dict[str, Any]:
    """One event of a request, in the engine's terms; the engine judges every value."""
    if not isinstance(raw, dict):
        return {"name": None, "identity": None}
    ids = raw.get("identifiers")
    identity: Any = ids
    if isinstance(ids, dict):
        identity = {kind: ids.get(name) for kind, name in EVENT_IDENTIFIERS.items()}
    return {
        "name": raw.get("event_name"),
        "date": raw.get("event_date"),
        "identity": identity,
        "properties": raw.get("event_properties"),
        "contact_properties": raw.get("contact_properties"),
        "object": raw.get("object"),
    }


def events_in(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise CrmError("the body must be an object with an 'events' array", field="events")
    return [event_in(e) for e in data["events"]]


def problems_text(problems: list[tuple[str, str]]) -> str:
    return "; ".join(f"{f}: {m}" if f else m for f, m in problems)


def event_errors(refused: list[tuple[int, list[tuple[str, str]]]]) -> list[dict[str, Any]]:
    """Brevo's ``errors``: one entry per distinct message, with the indices it applies to."""
    groups: dict[str, list[int]] = {}
    for index, problems in refused:
        groups.setdefault(problems_text(problems), []).append(index)
    return [{"eventIndex": indices, "message": message} for message, indices in groups.items()]


def event_out(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "contact_id": e["contact_id"],
        "event_date": clock.iso(e["event_date"]),
        "event_name": e["name"],
        "source": "api",
        "event_filter_id": str(e["id"]),
        "object_type": e["object_type"],
        "object_id": e["object_record_id"],
        "event_properties": e["properties"] or {},
        "contact_properties": e["contact_properties"] or {},
    }


def contact_identifier(identifier: str, identifier_type: str | None) -> tuple[str, str]:
    """(kind, value) for ``GET /v3/contacts/{identifier}``; without a type, an email, an id or
    an SMS number (``+`` first) is recognised."""
    if identifier_type is not None:
        return CONTACT_IDENTIFIER_TYPES[identifier_type], identifier
    if "@" in identifier:
        return "EMAIL", identifier
    if identifier.isdigit():
        return "id", identifier
    if identifier.startswith("+"):
        return "SMS", identifier
    raise CrmError(
        f"cannot tell what {identifier!r} is; add identifierType "
        f"({', '.join(CONTACT_IDENTIFIER_TYPES)})",
        field="identifierType",
    )


def contact_out(c: dict[str, Any]) -> dict[str, Any]:
    channels = c["channels"]
    attributes = dict(c["attributes"])
    for key in ("SMS", "WHATSAPP", "LANDLINE_NUMBER"):
        if channels.get(key) is not None:
            attributes[key] = channels[key]
    if c["ext_id"] is not None:
        attributes["EXT_ID"] = c["ext_id"]
    out: dict[str, Any] = {"id": c["id"]}
    if channels.get("EMAIL") is not None:
        out["email"] = channels["EMAIL"]
    if c["ext_id"] is not None:
        out["ext_id"] = c["ext_id"]
    out.update(
        # an explicit opt-out (MainBrainer's emailOptIn/mobileOptIn false) is Brevo's blacklist
        emailBlacklisted=c["opt_ins"]["EMAIL_OPT_IN"] is False,
        smsBlacklisted=c["opt_ins"]["SMS_OPT_IN"] is False,
        whatsappBlacklisted=False,
        createdAt=c["created_at"],
        modifiedAt=c["updated_at"],
        attributes=attributes,
        listIds=c["list_ids"],
        statistics={},
    )
    return out
