"""HubSpot's JSON shapes (pydantic models: request parsing and the OpenAPI document).

Request models are lenient where the official client is (property values of any JSON type,
unknown fields ignored); responses carry every field the client marks required."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, RootModel

MAX_INPUTS = 100
MAX_HISTORY_INPUTS = 50

PropertyValue = str | int | float | bool | None


class Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ErrorDetail(BaseModel):
    message: str
    code: str | None = None
    in_: str | None = Field(None, alias="in")
    context: dict[str, list[str]] | None = None


class Error(BaseModel):
    status: str = "error"
    message: str
    correlationId: str
    category: str
    errors: list[ErrorDetail] = []
    context: dict[str, list[str]] = {}
    links: dict[str, str] = {}


class StandardError(BaseModel):
    status: str
    category: str
    message: str
    context: dict[str, list[str]]
    errors: list[ErrorDetail]
    links: dict[str, str]


def _id_text(value: Any) -> Any:
    """Object ids arrive as strings from the SDK and as numbers from hand-written code."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


ObjectIdText = Annotated[str, BeforeValidator(_id_text), Field(min_length=1, max_length=64)]


class PublicObjectId(Lenient):
    id: ObjectIdText


class AssociationSpec(Lenient):
    associationCategory: str = Field(
        "HUBSPOT_DEFINED", description="HUBSPOT_DEFINED, USER_DEFINED or INTEGRATOR_DEFINED"
    )
    associationTypeId: int


class InlineAssociation(Lenient):
    """An association made with a created object: the type ids name the other object's type."""

    to: PublicObjectId
    types: list[AssociationSpec] = Field(min_length=1)


class UpsertInput(Lenient):
    id: str = Field(description="the value of idProperty")
    idProperty: str | None = Field(None, description="a property with hasUniqueValue")
    properties: dict[str, PropertyValue] = {}
    objectWriteTraceId: str | None = None


class UpsertBatch(Lenient):
    inputs: list[UpsertInput] = Field(description="at most 100")


class CreateInput(Lenient):
    properties: dict[str, PropertyValue] = {}
    objectWriteTraceId: str | None = None
    associations: list[InlineAssociation] | None = None


class CreateBatch(Lenient):
    inputs: list[CreateInput] = Field(description="at most 100")


class UpdateInput(Lenient):
    id: str
    idProperty: str | None = None
    properties: dict[str, PropertyValue] = {}
    objectWriteTraceId: str | None = None


class UpdateBatch(Lenient):
    inputs: list[UpdateInput] = Field(description="at most 100")


class ObjectId(Lenient):
    id: str


class ReadBatch(Lenient):
    inputs: list[ObjectId] = Field(description="at most 100 (50 with propertiesWithHistory)")
    idProperty: str | None = None
    properties: list[str] | None = None
    propertiesWithHistory: list[str] | None = None


class ArchiveBatch(Lenient):
    inputs: list[ObjectId] = Field(description="at most 100")


class SingleCreate(Lenient):
    properties: dict[str, PropertyValue] = {}
    associations: list[InlineAssociation] | None = None


class SingleUpdate(Lenient):
    properties: dict[str, PropertyValue] = {}


class ValueWithTimestamp(BaseModel):
    value: str
    timestamp: str
    sourceType: str


class SimplePublicObject(BaseModel):
    id: str
    properties: dict[str, str | None]
    createdAt: str
    updatedAt: str
    archived: bool
    archivedAt: str | None = None
    propertiesWithHistory: dict[str, list[ValueWithTimestamp]] | None = None
    objectWriteTraceId: str | None = None
    new: bool | None = Field(None, description="upsert only: created by this call")


class BatchResponse(BaseModel):
    status: str = Field(examples=["COMPLETE"])
    results: list[SimplePublicObject]
    startedAt: str
    completedAt: str
    requestedAt: str | None = None
    links: dict[str, str] = {}
    errors: list[StandardError] | None = Field(None, description="207 only")
    numErrors: int | None = Field(None, description="207 only")


class NextPage(BaseModel):
    after: str
    link: str | None = None


class Paging(BaseModel):
    next: NextPage


class ObjectPage(BaseModel):
    results: list[SimplePublicObject]
    paging: Paging | None = None


class OptionIn(Lenient):
    label: str | None = None
    value: str
    displayOrder: int | None = None
    hidden: bool | None = None


class PropertyCreate(Lenient):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,254}$")
    label: str = Field(min_length=1, max_length=255)
    type: str = Field(description="string, number, date, datetime, enumeration or bool")
    fieldType: str = Field(description="text, textarea, number, date, select, radio, checkbox…")
    groupName: str | None = None
    description: str | None = None
    hasUniqueValue: bool = False
    options: list[OptionIn] | None = None


class PropertyUpdate(Lenient):
    label: str | None = Field(None, min_length=1, max_length=255)
    type: str | None = None
    fieldType: str | None = None
    options: list[OptionIn] | None = None
    description: str | None = None
    groupName: str | None = None


class Option(BaseModel):
    label: str
    value: str
    displayOrder: int
    hidden: bool


class Property(BaseModel):
    name: str
    label: str
    type: str
    fieldType: str
    description: str
    groupName: str
    options: list[Option]
    displayOrder: int
    calculated: bool
    externalOptions: bool
    hasUniqueValue: bool
    hidden: bool
    hubspotDefined: bool
    archived: bool
    formField: bool
    modificationMetadata: dict[str, bool]


class PropertyList(BaseModel):
    results: list[Property]


class PropertyName(Lenient):
    name: str = Field(min_length=1, max_length=255)


class PropertyNames(Lenient):
    inputs: list[PropertyName] = Field(description=f"at most {MAX_INPUTS}")


class PropertyReadBatch(Lenient):
    inputs: list[PropertyName] = Field(description=f"at most {MAX_INPUTS}")
    archived: bool = False


class PropertyCreateBatch(Lenient):
    inputs: list[PropertyCreate] = Field(description=f"at most {MAX_INPUTS}")


class PropertyBatchResponse(BaseModel):
    status: str
    results: list[Property]
    startedAt: str | None
    completedAt: str
    requestedAt: str | None = None
    links: dict[str, str] = {}
    errors: list[StandardError] | None = None
    numErrors: int | None = None


class PropertyGroupCreate(Lenient):
    name: str = Field(pattern=r"^[a-z0-9_]{1,100}$")
    label: str = Field(min_length=1, max_length=255)
    displayOrder: int | None = None


class PropertyGroupUpdate(Lenient):
    label: str | None = Field(None, min_length=1, max_length=255)
    displayOrder: int | None = None


class PropertyGroup(BaseModel):
    name: str
    label: str
    displayOrder: int
    archived: bool


class PropertyGroups(BaseModel):
    results: list[PropertyGroup]


class Labels(Lenient):
    singular: str | None = None
    plural: str | None = None


class ObjectTypePropertyCreate(PropertyCreate):
    pass


class ObjectSchemaEgg(Lenient):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
    labels: Labels
    primaryDisplayProperty: str | None = None
    requiredProperties: list[str] = []
    searchableProperties: list[str] | None = None
    secondaryDisplayProperties: list[str] | None = None
    properties: list[ObjectTypePropertyCreate] = []
    associatedObjects: list[str] = []
    description: str | None = None


class ObjectSchemaPatch(Lenient):
    labels: Labels | None = None
    primaryDisplayProperty: str | None = None
    requiredProperties: list[str] | None = None
    searchableProperties: list[str] | None = None
    secondaryDisplayProperties: list[str] | None = None
    description: str | None = None
    clearDescription: bool = False


class SchemaBatchRead(Lenient):
    inputs: list[str] = Field(description="object type ids or names")


class AssociationDefinitionEgg(Lenient):
    fromObjectTypeId: str = Field(min_length=1, max_length=64)
    toObjectTypeId: str = Field(min_length=1, max_length=64)
    name: str | None = None


class AssociationDefinition(BaseModel):
    id: str
    fromObjectTypeId: str
    toObjectTypeId: str
    name: str
    createdAt: str | None = None
    updatedAt: str | None = None


class ObjectSchema(BaseModel):
    id: str
    objectTypeId: str
    fullyQualifiedName: str
    name: str
    labels: dict[str, str]
    primaryDisplayProperty: str | None
    secondaryDisplayProperties: list[str]
    requiredProperties: list[str]
    searchableProperties: list[str]
    properties: list[Property]
    associations: list[AssociationDefinition]
    metaType: str
    archived: bool
    createdAt: str | None = None
    updatedAt: str | None = None


class SchemaList(BaseModel):
    results: list[ObjectSchema]


SearchValue = str | int | float | bool | None


class SearchFilter(Lenient):
    propertyName: str = Field(min_length=1, max_length=255)
    operator: str = Field(description="EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, …")
    value: SearchValue = None
    values: list[SearchValue] | None = None
    highValue: SearchValue = None


class SearchFilterGroup(Lenient):
    filters: list[SearchFilter] = []


class SearchSort(Lenient):
    propertyName: str = Field(min_length=1, max_length=255)
    direction: str = Field("ASCENDING", description="ASCENDING or DESCENDING")


class SearchRequest(Lenient):
    filterGroups: list[SearchFilterGroup] = Field([], description="OR of up to 5 groups")
    sorts: list[str | SearchSort] = Field(
        [],
        description="one sort: a property name (- first: descending) or {propertyName, direction}",
    )
    query: str | None = None
    properties: list[str] = []
    limit: int = Field(10, description="at most 200")
    after: str | int | None = None


class SearchPage(BaseModel):
    total: int
    results: list[SimplePublicObject]
    paging: Paging | None = None


# ---- associations v4 ------------------------------------------------------------------------

MAX_ASSOCIATION_INPUTS = 1000


class AssociationSpecList(RootModel[list[AssociationSpec]]):
    """The body of a single link: the association types (labels) to give it."""


class AssociationInput(Lenient):
    """One pair to link (``types``: the labels; none or the default type links unlabelled)."""

    from_: PublicObjectId = Field(alias="from")
    to: PublicObjectId
    types: list[AssociationSpec] = []


class AssociationBatch(Lenient):
    inputs: list[AssociationInput] = Field(description=f"at most {MAX_ASSOCIATION_INPUTS}")


class DefaultAssociationInput(Lenient):
    from_: PublicObjectId = Field(alias="from")
    to: PublicObjectId


class DefaultAssociationBatch(Lenient):
    inputs: list[DefaultAssociationInput] = Field(description=f"at most {MAX_ASSOCIATION_INPUTS}")


class AssociationArchiveInput(Lenient):
    from_: PublicObjectId = Field(alias="from")
    to: list[PublicObjectId]


class AssociationArchiveBatch(Lenient):
    inputs: list[AssociationArchiveInput] = Field(description=f"at most {MAX_ASSOCIATION_INPUTS}")


class FetchInput(Lenient):
    id: ObjectIdText
    after: str | None = None


class FetchBatch(Lenient):
    inputs: list[FetchInput] = Field(description=f"at most {MAX_ASSOCIATION_INPUTS}")


class LabelCreate(Lenient):
    label: str = Field(max_length=255)
    name: str = Field(max_length=100)
    inverseLabel: str | None = Field(None, max_length=255)


class LabelUpdate(Lenient):
    associationTypeId: int
    label: str = Field(max_length=255)
    inverseLabel: str | None = Field(None, max_length=255)


class AssociationType(BaseModel):
    category: str
    typeId: int
    label: str | None


class AssociationTypes(BaseModel):
    results: list[AssociationType]


class LabelsBetweenObjectPair(BaseModel):
    fromObjectTypeId: str
    fromObjectId: int
    toObjectTypeId: str
    toObjectId: int
    labels: list[str]


class AssociatedObject(BaseModel):
    toObjectId: int
    associationTypes: list[AssociationType]


class AssociatedPage(BaseModel):
    results: list[AssociatedObject]
    paging: dict[str, Any] | None = None
