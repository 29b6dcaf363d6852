"""Brevo's JSON shapes (pydantic models; they also make the OpenAPI document)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ErrorModel(BaseModel):
    code: str = Field(examples=["invalid_parameter"])
    message: str = Field(examples=['records[12].attributes.year: expected a number, got "abc"'])


MAX_ID = 2**63 - 1
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
#: no NUL: PostgreSQL cannot store it in text
ExtId = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\x00]*$")]


class RecordIdentifiers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: RecordId | None = Field(None, description="crmbatch's record id: updates only")
    ext_id: ExtId | None = Field(None, description="your own id")


class AssociatedRecord(BaseModel):
    identifiers: RecordIdentifiers

    @model_validator(mode="after")
    def _one_identifier(self) -> AssociatedRecord:
        if self.identifiers.id is None and self.identifiers.ext_id is None:
            raise ValueError("give identifiers.id or identifiers.ext_id")
        return self


class Association(BaseModel):
    object_type: str = Field(min_length=1, max_length=32)
    action: Literal["link", "unlink"] = "link"
    records: list[AssociatedRecord] = Field(min_length=1)


class UpsertRecord(BaseModel):
    identifiers: RecordIdentifiers | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    associations: list[Association] | None = None

    @model_validator(mode="after")
    def _something_to_do(self) -> UpsertRecord:
        if not self.attributes and not self.associations:
            raise ValueError("give at least one attribute or association")
        return self


class UpsertRequest(BaseModel):
    records: list[UpsertRecord] = Field(description="1 to 1000 records; the body at most 1 MB")


class BatchAccepted(BaseModel):
    processId: int
    message: str


class DeleteIdentifiers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[RecordId] | None = None
    ext_ids: list[ExtId] | None = None


class DeleteRequest(BaseModel):
    identifiers: DeleteIdentifiers


class IdOnly(BaseModel):
    id: int


class AssociatedIdentifiers(BaseModel):
    identifiers: IdOnly


class RecordAssociations(BaseModel):
    object_type: str
    records: list[AssociatedIdentifiers]


class RecordOut(BaseModel):
    identifiers: dict[str, Any] = Field(examples=[{"id": 16789, "ext_id": "507f1f77bc"}])
    attributes: dict[str, Any]
    createdAt: str
    updatedAt: str
    associations: list[RecordAssociations] | None = None


class RecordsPage(BaseModel):
    count: int
    records: list[RecordOut]


class AssociatedObject(BaseModel):
    id: int
    ext_id: str | None = None
    attributes: dict[str, Any]
    created_at: str
    updated_at: str


class AssociatedItem(BaseModel):
    type: str
    object: AssociatedObject


class AssociatedPage(BaseModel):
    has_more: bool
    offset: int
    items: list[AssociatedItem]


class ProcessInfo(BaseModel):
    results_url: str


class Process(BaseModel):
    id: int
    name: str
    status: Literal["queued", "in_process", "completed", "failed"]
    info: ProcessInfo


class ProcessList(BaseModel):
    count: int
    processes: list[Process]


# ---- events and contacts -----------------------------------------------------------------

EventValue = str | int | float | bool | dict[str, Any] | list[Any]


class EventIdentifiers(BaseModel):
    contact_id: int | None = Field(None, description="wins over every other identifier")
    email_id: str | None = None
    ext_id: str | None = None
    phone_id: str | None = Field(None, description="SMS number, country code first")
    whatsapp_id: str | None = None
    landline_number_id: str | None = None


class EventObjectIdentifiers(BaseModel):
    id: str | None = Field(None, description="the record's id, as a string")
    ext_id: str | None = None


class EventObject(BaseModel):
    type: str | None = Field(None, examples=["vehicle"])
    identifiers: EventObjectIdentifiers | None = None


class Event(BaseModel):
    event_name: str = Field(examples=["order_created"], description="[A-Za-z0-9_-], ≤ 255")
    identifiers: EventIdentifiers
    event_date: str | None = Field(None, examples=["2024-01-24T17:39:57+01:00"])
    event_properties: dict[str, EventValue] | None = Field(None, description="at most 50 KB")
    contact_properties: dict[str, str | int | float | bool] | None = Field(
        None, examples=[{"FIRSTNAME": "Jane", "AGE": 37}]
    )
    object: EventObject | None = None


class EventsBatch(BaseModel):
    events: list[Event] = Field(description="1 to 200 events; the body at most 512 KB")


class EventErrorGroup(BaseModel):
    eventIndex: list[int]
    message: str


class EventsBatchAccepted(BaseModel):
    message: str
    count: int = Field(description="events queued")
    processId: int | None = Field(None, description="crmbatch: the process applying them")
    status: str | None = None
    total_events: int | None = None
    successful_events: int | None = None
    failed_events: int | None = None
    errors: list[EventErrorGroup] | None = None


class EventsBatchRejected(BaseModel):
    status: str
    total_events: int
    successful_events: int
    failed_events: int
    errors: list[EventErrorGroup]


class EventOut(BaseModel):
    contact_id: int
    event_date: str
    event_name: str
    source: str = Field("api", description="how the event came in: always api here")
    event_filter_id: str = Field(description="crmbatch: the event's own id, as text")
    object_type: str | None = None
    object_id: int | None = Field(None, description="crmbatch: the record the event points at")
    event_properties: dict[str, Any]
    contact_properties: dict[str, Any]


class EventsPage(BaseModel):
    events: list[EventOut]
    count: int


class Contact(BaseModel):
    id: int
    email: str | None = None
    ext_id: str | None = None
    emailBlacklisted: bool
    smsBlacklisted: bool
    whatsappBlacklisted: bool
    createdAt: str
    modifiedAt: str
    attributes: dict[str, Any]
    listIds: list[int]
    statistics: dict[str, Any]
