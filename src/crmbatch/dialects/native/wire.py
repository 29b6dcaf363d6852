"""JSON shapes of the native endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Error(BaseModel):
    code: str
    message: str


class Health(BaseModel):
    status: str = Field(description="ok, or unavailable (the database or the worker is down)")
    processes: dict[str, Any] | None = Field(
        None,
        description="the processes this server runs: api (its pid) and worker (pid, running, "
        "restarts: a worker child that died is started again)",
    )


class SchemaDocument(BaseModel):
    object_types: dict[str, Any] = Field(
        description="object type name → {label, primary_attribute, attributes, associations}"
    )


class Problem(BaseModel):
    code: str
    field: str | None = None
    message: str
    suggestion: str | None = None


class ContactRef(BaseModel):
    id: int | None = Field(description="null in a dry run, for a contact not created yet")
    status: str = Field(
        description="what the event did to its contact: created, updated, unchanged"
    )


class ObjectRef(BaseModel):
    type: Any
    id: int | None
    linked: bool
    reason: str | None = Field(None, description="why the object was ignored")


class RecordResult(BaseModel):
    index: int
    status: str = Field(
        description="created, updated, unchanged, deleted, archived, failed or skipped"
    )
    id: int | None = Field(None, description="the record's id (the event's, for events)")
    ext_id: str | None = None
    errors: list[Problem]
    warnings: list[Problem]
    contact: ContactRef | None = Field(None, description="events: the contact resolved to")
    object: ObjectRef | None = Field(None, description="events: the record pointed at")


class Counts(BaseModel):
    received: int
    created: int
    updated: int
    unchanged: int
    deleted: int
    archived: int = 0
    failed: int
    skipped: int


class DryRun(BaseModel):
    """What a batch sent with ``?dry_run=true`` would do; nothing was written."""

    dry_run: bool = True
    applied_through: int | None = Field(
        description="the last process of the batch's partition already applied: the plan sees "
        "what it and those before it wrote, not the batches queued after it"
    )
    counts: Counts
    results: list[RecordResult] = Field(description="one per item, in input order")


class WebhookDelivery(BaseModel):
    id: str = Field(description="X-Crmbatch-Delivery: the same on every attempt")
    url: str
    status: str = Field(description="pending (retrying), delivered, or failed (gave up)")
    attempts: int
    last_status: int | None = Field(description="the HTTP status of the last attempt")
    last_error: str | None
    last_attempt_at: str | None
    next_attempt_at: str | None
    delivered_at: str | None


class ProcessFull(BaseModel):
    id: int
    kind: str
    dialect: str
    object_type: str | None
    status: str
    requested_at: str | None
    started_at: str | None
    completed_at: str | None
    attempts: int
    error: str | None
    counts: Counts
    results: list[RecordResult]
    webhooks: list[WebhookDelivery] = Field(
        description="the deliveries announcing this process (when it named a webhook URL)"
    )


class ContactEvent(BaseModel):
    id: int
    name: str
    event_date: str
    properties: dict[str, Any]
    object_type: str | None
    object_id: int | None


class Contact(BaseModel):
    id: int
    ext_id: str | None
    identifiers: dict[str, str | None] = Field(
        description="EMAIL, SMS, WHATSAPP, LANDLINE_NUMBER (each unique in the account)"
    )
    opt_ins: dict[str, bool | None] = Field(
        description="EMAIL_OPT_IN, SMS_OPT_IN: true, false, or null when never given"
    )
    attributes: dict[str, Any]
    list_ids: list[int]
    created_at: str
    updated_at: str
    events: list[ContactEvent] = Field(description="the 10 most recent, newest first")


class ListIn(BaseModel):
    name: str = Field(min_length=1, max_length=255, examples=["Newsletter"])


class ContactList(BaseModel):
    id: str = Field(description="the list's UUID (MainBrainer's listId)")
    list_id: int = Field(description="the list's number, as Brevo's listIds show it")
    name: str
    folder_id: int | None = Field(description="the folder it is filed in (Brevo's folderId)")
    members: int
    created_at: str


class ContactLists(BaseModel):
    lists: list[ContactList]
