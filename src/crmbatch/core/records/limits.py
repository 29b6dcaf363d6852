"""The limits of a record batch, one place for every dialect and both backends."""

from __future__ import annotations

MAX_RECORDS = 1000
MAX_ATTRIBUTES = 500
MAX_ASSOCIATION_ENTRIES = 20
MAX_LINKS_PER_TYPE = 10
#: ext_ids and unique values: indexed values, kept short enough for every backend's index
MAX_IDENTIFIER = 255
