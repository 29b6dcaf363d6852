"""Schema-driven fuzzing: schemathesis generates requests for every operation of the app's own
OpenAPI document, as an authenticated account with a realistic schema, on both backends.

Checked for every response: no 5xx, and the status code, content type, headers and body conform
to what the document says (schemathesis' checks), within a bound of RESPONSE_BOUND seconds (a
hang detector; speed is the benchmark's business). One check is left out:
``positive_data_acceptance`` expects every schema-valid request to succeed, but some correct
400s depend on rules OpenAPI cannot state (exactly one of id/ext_id, a valid schema document).
Afterwards no accepted batch may have failed in the worker (what it cannot apply must be refused
at once). A fixed seed keeps it repeatable; CRMBATCH_FUZZ_EXAMPLES raises the number of examples
per operation for a longer hunt (``make fuzz``).
"""

from __future__ import annotations

import os
import time
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.core.result import Ok

from crmbatch.core.processes import store as process_store
from crmbatch.db.tables import processes
from tests.conftest import wait_process

EXAMPLES = int(os.environ.get("CRMBATCH_FUZZ_EXAMPLES", "80"))
RESPONSE_BOUND = 10.0


def test_every_operation_answers_as_documented_and_no_batch_fails(server, api, account, db):
    schema = schemathesis.openapi.from_dict(server.app.openapi())
    key = account[1]
    problems: list[tuple[str, int, str]] = []
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(operation.as_strategy())
        def call(case: Any) -> None:
            started = time.monotonic()
            response = case.call(base_url=server.base_url, headers={"api-key": key}, timeout=30)
            elapsed = time.monotonic() - started
            try:
                case.validate_response(response, excluded_checks=[checks.positive_data_acceptance])
            except BaseException as failure:  # schemathesis raises an exception group
                problems.append((case.operation.label, response.status_code, str(failure)[:500]))
            if elapsed > RESPONSE_BOUND:
                problems.append(
                    (case.operation.label, response.status_code, f"took {elapsed:.1f} s")
                )

        call()
    assert operations >= 10
    assert problems == []
    with db.read() as conn:
        last = conn.execute(processes.select().order_by(processes.c.id.desc()).limit(1)).first()
    if last is not None:
        wait_process(api, last.id)
    with db.read() as conn:
        failed = [
            row for row in conn.execute(processes.select().where(processes.c.status == "failed"))
        ]
        assert process_store.queue_depth(conn) == {}
    assert failed == []
