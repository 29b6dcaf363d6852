"""JSON as crmbatch stores and sends it: integers of any size stay exact both ways.

orjson writes fastest but refuses integers beyond 64 bits, and reads them back as floats without
a word; msgspec keeps them exact. Writing tries orjson first and falls back to msgspec (such an
integer is rare, and always refused by the value checks before it reaches a record); reading is
msgspec's, as fast as orjson's.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

_decode = msgspec.json.Decoder().decode


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return msgspec.json.encode(value)


def dumps_text(value: Any) -> str:
    return dumps(value).decode()


def loads(data: str | bytes) -> Any:
    return _decode(data)
