"""Why one record command fails: raised while a batch is planned, reported on that record alone
(the rest of the batch goes on)."""

from __future__ import annotations

from crmbatch.core.results import Problem, error


class Failure(Exception):
    def __init__(self, code: str, field: str | None, message: str) -> None:
        super().__init__(message)
        self.errors = [error(code, field, message)]


class Invalid(Failure):
    """Several problems with one command's values."""

    def __init__(self, errors: list[Problem]) -> None:
        Exception.__init__(self, errors[0]["message"])
        self.errors = errors
