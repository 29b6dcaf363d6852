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
