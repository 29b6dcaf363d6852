"""Rate limiting per API key (off by default): a token bucket per key in each API process.

``CRMBATCH_RATE_LIMIT=100/10s`` lets each key make 100 requests in any 10 seconds, in bursts of
up to 100; the bucket refills steadily. With several API processes behind a load balancer each
keeps its own buckets, so a key gets up to N times the limit: divide it by N.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from dataclasses import dataclass

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|m|h)\s*$")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse(spec: str) -> tuple[int, float]:
    """``"100/10s"`` → (100 requests, 10.0 seconds); ``"5/s"``, ``"600/m"``, ``"1000/h"``."""
    m = _SPEC.match(spec)
    if not m or int(m.group(1)) < 1:
        raise ValueError(f"{spec!r}: say N/s, N/m, N/h or N/<seconds>s, e.g. 100/10s")
    return int(m.group(1)), float(m.group(2) or 1) * _UNIT[m.group(3)]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    #: requests per interval, and what is left of it now
    limit: int
    remaining: int
    interval: float
    #: seconds until one more request is allowed (0 when allowed), and until the bucket is full
    retry_after: float
    reset: float


class RateLimiter:
    def __init__(self, limit: int, interval: float) -> None:
        self.limit = limit
        self.interval = interval
        self.rate = limit / interval  # tokens per second
        self._buckets: dict[bytes, tuple[float, float]] = {}  # key digest -> (tokens, at)
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, spec: str | None) -> RateLimiter | None:
        if not spec:
            return None
        return cls(*parse(spec))

    def take(self, api_key: str, now: float | None = None) -> Decision:
        """Spend one request of ``api_key``'s bucket if it has one."""
        now = time.monotonic() if now is None else now
        digest = hashlib.sha256(api_key.encode()).digest()[:16]  # keys are not kept in memory
        with self._lock:
            tokens, at = self._buckets.get(digest, (float(self.limit), now))
            tokens = min(float(self.limit), tokens + (now - at) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[digest] = (tokens, now)
        wait = 0.0 if allowed else (1.0 - tokens) / self.rate
        return Decision(
            allowed=allowed,
            limit=self.limit,
            remaining=math.floor(tokens),
            interval=self.interval,
            retry_after=wait,
            reset=(self.limit - tokens) / self.rate,
        )
