"""MainBrainer's wire shapes to core calls and back."""

from __future__ import annotations

from typing import Any

from crmbatch.core.contacts.batch import ContactsChecked, report_of
from crmbatch.core.errors import CrmError
from crmbatch.core.processes.service import Accepted
from crmbatch.dialects.mainbrainer import wire

#: MainBrainer answers limits with 400, an unusable field with 422, a wrong media type with 406
STATUS = {
    "too_large": 400,
    "unsupported_media_type": 406,
    "not_acceptable": 406,
    "unprocessable": 422,
}

PROCESS_STATUS = {
    "queued": "Queued",
    "in_process": "Processing",
    "completed": "Completed",
    "failed": "Failed",
}


def error_body(exc: CrmError) -> tuple[int, dict[str, Any]]:
    return STATUS.get(exc.kind, exc.status), {
        "status": "Error",
        "message": exc.message,
        "data": None,
    }


def phone(contact: wire.CreateUpdateContact) -> str | None:
    """``mobileCountryCode`` + ``mobileNumber`` as one international number (the number alone
    when no country code is given: it must then start with one)."""
    if contact.mobileNumber is None:
        return None
    code = contact.mobileCountryCode
    return f"+{code or ''}{contact.mobileNumber}"


def contact_items(body: wire.ContactsBatchRequest) -> list[dict[str, Any]]:
    return [
        {
            "contact_id": c.contactId,
            "email": c.email,
            "phone": phone(c),
            "list": str(c.listId) if c.listId else None,
            "opt_ins": {"EMAIL_OPT_IN": c.emailOptIn, "SMS_OPT_IN": c.mobileOptIn},
            "properties": [
                {
                    "id": str(p.propertyId) if p.propertyId else None,
                    "name": p.propertyName,
                    "value": p.propertyValue,
                }
                for p in c.propertyFields or ()
            ],
        }
        for c in body.createUpdateContacts
    ]


def _invalid(props: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "index": p["index"],
            "propertyId": p["id"],
            "propertyName": p["name"],
            "propertyValue": p["value"],
            "reason": p["reason"],
        }
        for p in props
    ]


def accepted(accepted: Accepted, result: ContactsChecked) -> dict[str, Any]:
    return {
        "status": "Success",
        "message": "Batch accepted for processing",
        "data": {
            "batchId": str(accepted.process_id),
            "processed": "false",
            "contactId": None,
            "status": 0,
            "message": "queued",
            "invalidPropertiesList": _invalid(result.invalid_properties),
            "invalidContactIdList": [str(i) for i in result.invalid_contact_ids],
            "balance": {},
        },
    }


def report(r: dict[str, Any]) -> dict[str, Any]:
    """The core's report of a contacts batch, in MainBrainer's words."""
    skipped = r["skipped"]
    return {
        "batchId": str(r["id"]),
        "status": PROCESS_STATUS.get(r["status"], r["status"]),
        "inserted": {"count": len(r["inserted"]), "contactIds": r["inserted"]},
        "updated": {"count": len(r["updated"]), "contactIds": r["updated"]},
        "skipped": {
            "count": len(skipped),
            "contactIds": [s["contact_id"] for s in skipped if s["contact_id"] is not None],
            "reasons": [
                {"index": s["index"], "contactId": s["contact_id"], "reason": s["reason"]}
                for s in skipped
            ],
        },
        "invalidPropertiesList": _invalid(r["invalid_properties"]),
        "invalidContactIdList": [str(i) for i in r["invalid_contact_ids"]],
        "completedAt": r["completed_at"],
    }


def webhook_body(process: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """The completion webhook of a contacts batch: its report, as ``GET`` shows it."""
    return report(report_of(process, payload))
