"""What an upload returns: counts, the records that were not applied and why, and timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: the statuses a record can end in, as the server counts them
STATUSES = ("created", "updated", "unchanged", "deleted", "archived", "failed", "skipped")
COUNTED = ("received", *STATUSES)
APPLIED = ("created", "updated", "unchanged", "deleted", "archived")


@dataclass(frozen=True)
class Failure:
    """A record that was not applied."""

    #: its position in what was given (``crmbatch sync``: its row or line number)
    index: int
    #: ``failed`` or ``skipped`` by the server, ``rejected`` when its whole batch was refused,
    #: ``invalid`` when the client found it unsendable
    status: str
    #: ``[{"code", "message", "field"?}]``
    errors: list[dict[str, Any]]
    id: int | None = None
    ext_id: str | None = None
    #: the record as it was sent (``identifiers``, ``attributes``, …), or the row as it was
    #: read when it could not be sent
    record: Any = None

    @property
    def reasons(self) -> str:
        return "; ".join(str(e.get("message") or e.get("code")) for e in self.errors)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.id is not None:
            out["id"] = self.id
        if self.ext_id is not None:
            out["ext_id"] = self.ext_id
        out["errors"] = self.errors
        return out


@dataclass(frozen=True)
class Progress:
    """Where an upload stands; given to ``on_progress`` after every change."""

    #: records accepted by the server (202)
    sent: int
    #: records whose process has completed and that were applied
    applied: int
    #: records not applied (server failures, refused batches, unsendable records)
    failed: int


@dataclass
class Report:
    """The outcome of one upload: every batch sent, and what became of each record."""

    #: per status, plus ``received``: how many records the server accepted
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("received", *STATUSES), 0)
    )
    failures: list[Failure] = field(default_factory=list)
    #: the process of each batch, in the order the batches were cut
    processes: list[int] = field(default_factory=list)
    batches: int = 0
    #: batches an earlier request with the same Idempotency-Key had already sent, and their
    #: records that request applied (not counted again under created, updated, ...)
    replayed_batches: int = 0
    replayed: int = 0
    #: records of batches a server completed without saying what became of each (a Brevo server
    #: that is not crmbatch: it has no ``/v1/processes``)
    unreported: int = 0
    #: seconds from the start to the last batch accepted, and to the end
    accepted_after: float = 0.0
    elapsed: float = 0.0
    #: whether the processes were waited for (otherwise only ``received`` is known)
    waited: bool = True
    #: a dry run: the counts and failures are what the server would do; nothing was written
    dry_run: bool = False

    @property
    def applied(self) -> int:
        """Records applied, now or by an earlier request of a replayed batch."""
        return sum(self.counts[s] for s in APPLIED) + self.replayed + self.unreported

    @property
    def failed(self) -> int:
        return self.counts["failed"] + self.counts["skipped"]

    @property
    def ok(self) -> bool:
        """True when every record given was applied."""
        return self.failed == 0 and self.waited

    @property
    def rate(self) -> float:
        """Records per second, end to end."""
        return (self.counts["received"] / self.elapsed) if self.elapsed > 0 else 0.0
