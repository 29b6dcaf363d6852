"""MainBrainer's JSON shapes (specs/mainbrainer.md). Types are strict: a string where a number
belongs is a 422, as MainBrainer answers a field of the wrong type."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from crmbatch.dialects.common import MAX_INT64

INT32 = 2**31 - 1


class PropertyField(BaseModel):
    model_config = ConfigDict(strict=True)

    propertyId: UUID | None = Field(None, description="the attribute's id (GET /v1/schema)")
    propertyName: str | None = Field(None, max_length=255, description="or its key")
    propertyValue: str | None = Field(
        None, max_length=65_535, description="text, converted to the attribute's type"
    )


class CreateUpdateContact(BaseModel):
    model_config = ConfigDict(strict=True)

    listId: UUID | None = Field(None, description="overrides the batch's listId")
    contactId: int | None = Field(None, ge=0, le=MAX_INT64)
    mobileCountryCode: int | None = Field(None, ge=0, le=INT32)
    mobileNumber: int | None = Field(None, ge=0, le=MAX_INT64)
    mobileOptIn: bool | None = None
    email: str | None = Field(None, max_length=254)
    emailOptIn: bool | None = None
    propertyFields: list[PropertyField] | None = None


class ContactsBatchRequest(BaseModel):
    model_config = ConfigDict(strict=True)

    listId: UUID | None = Field(None, description="the list every contact of the batch joins")
    createUpdateContacts: list[CreateUpdateContact] = Field(
        description="1 to 1000 contacts (100 or fewer recommended)"
    )
    webHookUrl: str | None = Field(
        None, max_length=2048, description="where the batch report is POSTed once applied"
    )


class InvalidProperty(BaseModel):
    index: int
    propertyId: str | None
    propertyName: str | None
    propertyValue: str | None
    reason: str = Field(
        description="crmbatch: why it was left out (no such attribute, or a value that does not "
        "convert to the attribute's type)"
    )


class AcceptedData(BaseModel):
    batchId: str
    processed: str
    contactId: str | None
    status: int
    message: str
    invalidPropertiesList: list[InvalidProperty]
    invalidContactIdList: list[str]
    balance: dict[str, Any]


class BatchAccepted(BaseModel):
    status: str = Field(examples=["Success"])
    message: str
    data: AcceptedData


class Bucket(BaseModel):
    count: int
    contactIds: list[int]


class SkipReason(BaseModel):
    index: int
    contactId: int | None
    reason: str = Field(
        description="contact_not_found, no_identifier, invalid_email, invalid_mobile_number, …"
    )


class Skipped(Bucket):
    reasons: list[SkipReason]


class BatchReport(BaseModel):
    """The webhook body, and GET /mainbrainer/contacts/batch/{batchId}."""

    batchId: str
    status: str = Field(description="Queued, Processing, Completed or Failed")
    inserted: Bucket
    updated: Bucket
    skipped: Skipped
    invalidPropertiesList: list[InvalidProperty]
    invalidContactIdList: list[str]
    completedAt: str | None


class Error(BaseModel):
    status: str = Field(examples=["Error"])
    message: str
    data: None = None
