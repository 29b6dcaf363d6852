"""Schema-driven fuzzing: schemathesis generates requests for every operation of the app's own
OpenAPI document, as an authenticated account with a realistic schema, on both backends.

Checked: no answer is a 5xx, and no accepted batch fails in the worker (anything the worker could
not apply should have been refused at once). A fixed seed and a bound keep it in CI's time;
CRMBATCH_FUZZ_EXAMPLES raises the number of examples per operation for a longer hunt.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from crmbatch.core.processes import store as process_store
from crmbatch.db.tables import processes
from tests.conftest import wait_process

EXAMPLES = int(os.environ.get("CRMBATCH_FUZZ_EXAMPLES", "40"))


def test_no_operation_answers_5xx_or_fails_a_batch(server, api, account, db):
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
            response = case.call(base_url=server.base_url, headers={"api-key": key}, timeout=30)
            if response.status_code >= 500:
                problems.append((case.operation.label, response.status_code, response.text[:300]))

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
