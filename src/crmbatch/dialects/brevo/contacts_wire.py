"""Brevo's JSON shapes for contacts, lists, folders, contact attributes and imports (its v3
document's field names; pydantic models that also make the OpenAPI document)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crmbatch.dialects.brevo.wire import ExtId

MAX_ID = 2**63 - 1
ListId = Annotated[int, Field(ge=1, le=MAX_ID)]
Name = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\x00]*$")]
#: an attribute value as Brevo's contacts take it
AttributeValue = str | int | float | bool | list[str] | None

#: the most contacts one batch update takes (Brevo's limit)
MAX_BATCH = 100
#: the most contacts one list addition or removal names (Brevo's limit)
MAX_LIST_CHANGE = 150


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContactCreate(_Body):
    email: str | None = Field(None, max_length=255, examples=["jane@example.com"])
    ext_id: ExtId | None = Field(None, examples=["crm-7"])
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict,
        examples=[{"FIRSTNAME": "Jane", "SMS": "+33612345678"}],
        description="contact attributes by name (upper case); SMS, WHATSAPP and "
        "LANDLINE_NUMBER are the contact's numbers",
    )
    emailBlacklisted: bool | None = None
    smsBlacklisted: bool | None = None
    listIds: list[ListId] = Field(default_factory=list, max_length=1000)
    updateEnabled: bool = Field(False, description="update the contact when it exists already")
    smtpBlacklistSender: list[str] | None = Field(
        None, description="accepted for compatibility; crmbatch sends no email"
    )


class ContactUpdate(_Body):
    ext_id: ExtId | None = None
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict,
        description="attributes to set (EMAIL, SMS, WHATSAPP, LANDLINE_NUMBER change the "
        "contact's identifiers); null clears one",
    )
    emailBlacklisted: bool | None = None
    smsBlacklisted: bool | None = None
    listIds: list[ListId] = Field(default_factory=list, max_length=1000)
    unlinkListIds: list[ListId] = Field(default_factory=list, max_length=1000)
    smtpBlacklistSender: list[str] | None = None
    forceMerge: bool | None = Field(
        None, description="crmbatch never merges contacts: true is refused"
    )


class BatchContact(ContactUpdate):
    """One contact of ``POST /contacts/batch``, named by exactly one identifier."""

    id: int | None = Field(None, ge=1, le=MAX_ID)
    email: str | None = Field(None, max_length=255)
    sms: str | None = Field(None, max_length=64)

    @model_validator(mode="after")
    def _named_once(self) -> BatchContact:
        given = [k for k in ("id", "email", "ext_id", "sms") if getattr(self, k) is not None]
        if not given:
            raise ValueError("name the contact by id, email, ext_id or sms")
        return self


class BatchUpdate(_Body):
    contacts: list[BatchContact] = Field(min_length=1, max_length=MAX_BATCH)


class ContactCreated(BaseModel):
    id: int


class ContactOut(BaseModel):
    id: int
    email: str | None = None
    ext_id: str | None = None
    emailBlacklisted: bool
    smsBlacklisted: bool
    createdAt: str
    modifiedAt: str
    attributes: dict[str, Any]
    listIds: list[int]


class ContactsPage(BaseModel):
    contacts: list[ContactOut]
    count: int


# -- lists and folders -------------------------------------------------------------------------


class ListCreate(_Body):
    name: Name = Field(examples=["Newsletter"])
    folderId: int = Field(ge=1, le=MAX_ID)


class ListUpdate(_Body):
    name: Name | None = None
    folderId: int | None = Field(None, ge=1, le=MAX_ID)


class Created(BaseModel):
    id: int


class ListOut(BaseModel):
    id: int
    name: str
    totalBlacklisted: int
    totalSubscribers: int
    uniqueSubscribers: int
    folderId: int


class ListDetail(ListOut):
    createdAt: str
    dynamicList: bool = False
    campaignStats: list[Any] = Field(default_factory=list)


class ListsPage(BaseModel):
    lists: list[ListOut]
    count: int


class FolderIn(_Body):
    name: Name = Field(examples=["Customers"])


class FolderOut(BaseModel):
    id: int
    name: str
    totalBlacklisted: int
    totalSubscribers: int
    uniqueSubscribers: int


class FoldersPage(BaseModel):
    folders: list[FolderOut]
    count: int


class MembersChange(_Body):
    """Name the contacts one way: ``emails``, ``ids`` or ``extIds`` (removal also ``all``)."""

    emails: list[Annotated[str, Field(max_length=255)]] | None = Field(
        None, max_length=MAX_LIST_CHANGE
    )
    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        None, max_length=MAX_LIST_CHANGE
    )
    extIds: list[ExtId] | None = Field(None, max_length=MAX_LIST_CHANGE)
    all: bool | None = None

    @model_validator(mode="after")
    def _one_way(self) -> MembersChange:
        given = [k for k in ("emails", "ids", "extIds") if getattr(self, k)]
        if len(given) + bool(self.all) != 1:
            raise ValueError("give exactly one of emails, ids or extIds (or all, to remove)")
        return self


class MembersChanged(BaseModel):
    success: list[Any]
    failure: list[Any]
    total: int | None = None
    processId: int | None = None


class MembersAnswer(BaseModel):
    contacts: MembersChanged


# -- attributes ----------------------------------------------------------------------------------

AttributeCategory = Literal["normal", "transactional", "category", "calculated", "global"]


class EnumerationItem(BaseModel):
    value: int = Field(ge=0, le=MAX_ID)
    label: Name


class AttributeIn(_Body):
    type: Literal[
        "text", "date", "float", "boolean", "id", "category", "multiple-choice", "user"
    ] = "text"
    enumeration: list[EnumerationItem] | None = Field(None, max_length=1000)
    multiCategoryOptions: list[Name] | None = Field(None, max_length=1000)
    value: str | None = None
    isRecurring: bool | None = None


class AttributeChange(_Body):
    enumeration: list[EnumerationItem] | None = Field(None, max_length=1000)
    multiCategoryOptions: list[Name] | None = Field(None, max_length=1000)
    value: str | None = None


class AttributeOut(BaseModel):
    name: str
    category: str
    type: str | None = None
    enumeration: list[EnumerationItem] | None = None
    multiCategoryOptions: list[str] | None = None


class AttributesPage(BaseModel):
    attributes: list[AttributeOut]


# -- import ----------------------------------------------------------------------------------------


class NewList(_Body):
    listName: Name | None = None
    folderId: int | None = Field(None, ge=1, le=MAX_ID)


class ImportRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str | None = Field(None, max_length=255)
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)


class ImportRequest(_Body):
    fileBody: str | None = Field(
        None,
        description="CSV text, ';' (or ',') between cells, a header naming the columns: EMAIL, "
        "SMS, EXT_ID, WHATSAPP, LANDLINE_NUMBER and attribute names",
        examples=["EMAIL;FIRSTNAME;AGE\njane@example.com;Jane;37"],
    )
    jsonBody: list[ImportRow] | None = None
    fileUrl: str | None = Field(None, description="not supported: send fileBody or jsonBody")
    listIds: list[ListId] | None = Field(None, max_length=50)
    newList: NewList | None = None
    notifyUrl: str | None = Field(None, max_length=2048)
    updateExistingContacts: bool = True
    emptyContactsAttributes: bool = False
    emailBlacklist: bool = False
    smsBlacklist: bool = False
    disableNotification: bool = False
    consentGroupIds: list[int] | None = Field(None, description="accepted; crmbatch keeps none")


class ImportAccepted(BaseModel):
    processId: int
