"""JSON shapes of the native endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Error(BaseModel):
    code: str
    message: str


class Health(BaseModel):
    status: str


class SchemaDocument(BaseModel):
    object_types: dict[str, Any] = Field(
        description="object type name → {label, primary_attribute, attributes, associations}"
    )


class Problem(BaseModel):
    code: str
    field: str | None = None
    message: str
    suggestion: str | None = None


class RecordResult(BaseModel):
    index: int
    status: str = Field(description="created, updated, unchanged, deleted, failed or skipped")
    id: int | None = None
    ext_id: str | None = None
    errors: list[Problem]
    warnings: list[Problem]


class Counts(BaseModel):
    received: int
    created: int
    updated: int
    unchanged: int
    deleted: int
    failed: int
    skipped: int


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
