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
    "out_of_range": (400, "out_of_range"),
    "unauthorized": (401, "unauthorized"),
    "forbidden": (403, "permission_denied"),
    "not_found": (404, "document_not_found"),
    "conflict": (409, "duplicate_request"),
    "too_large": (413, "out_of_range"),
    "unsupported_media_type": (415, "invalid_parameter"),
    "dependency": (424, "unprocessable_entity"),
    "rate_limited": (429, "too_many_requests"),
}

PROCESS_NAMES = {
    "objects_upsert": "OBJECT_RECORDS_UPSERT",
    "objects_delete": "OBJECT_RECORDS_DELETE",
    "events_batch": "EVENTS_BATCH",
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
