"""The background work of a crmbatch process, started and stopped as one: worker threads, the
webhook sender, the PostgreSQL wake-up listener and the SQLite checkpointer. ``crmbatch worker``
runs exactly this; ``crmbatch serve`` with the embedded worker runs it in a supervised child
process (:mod:`crmbatch.children`), or in its own threads when ``CRMBATCH_WORKER_PROCESS=false``."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from crmbatch.children import WorkerChild
from crmbatch.config import Settings
from crmbatch.core.processes import lifecycle
from crmbatch.db.engine import Checkpointer, Database
from crmbatch.delivery import Dispatcher
from crmbatch.wakeup import Listener
from crmbatch.worker import Worker, worker_prefix

log = logging.getLogger("crmbatch.background")


@dataclass
class Background:
    db: Database
    settings: Settings
    #: worker threads (0: none here, for an API process whose workers run elsewhere)
    workers: int = 1
    #: run the workers in a supervised child process instead of threads of this one
    child: bool = False
    _workers: list[Worker] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)
    _dispatcher: Dispatcher | None = None
    _listener: Listener | None = None
    _checkpointer: Checkpointer | None = None
    _child: WorkerChild | None = None
    _stopped: bool = False

    def start(self) -> Background:
        if self._stopped:  # told to stop before it started: nothing to run
            return self
        if self.workers >= 1 and self.child:  # the child checkpoints, sends and applies
            self._child = WorkerChild(self.settings.as_env(), on_died=self._release).start()
            return self
        self._checkpointer = Checkpointer(self.db).start()
        if self.workers < 1:
            return self
        self._dispatcher = Dispatcher(self.db, self.settings)
        self._workers = [
            Worker(self.db, self.settings, on_webhooks=self._dispatcher.wake)
            for _ in range(self.workers)
        ]
        self._threads = [w.start_thread() for w in self._workers]
        self._threads.append(self._dispatcher.start_thread())
        if not self.db.is_sqlite:  # woken by NOTIFY when any API process queues a batch
            self._listener = Listener(self.settings.database_url, self.wake)
            self._listener.start_thread()
        return self

    def _release(self, pid: int) -> None:
        """A worker child died: what it held is queued again now (a batch it was applying
        rolled back; one it had claimed next was never begun), not once its leases run out."""
        released = lifecycle.release_dead(self.db, worker_prefix(pid))
        if released:
            log.warning("worker_child.released", extra={"pid": pid, "processes": released})

    def wake(self) -> None:
        """A batch was queued: let an idle worker look now."""
        if self._child is not None:
            self._child.wake()
        for w in self._workers:
            w.wake()

    def stop(self) -> None:
        """Each worker finishes the batch it is applying, then everything stops."""
        self._stopped = True
        if self._child is not None:
            self._child.stop()
        for w in self._workers:
            w.stop()
        if self._listener is not None:
            self._listener.stop()
        if self._dispatcher is not None:
            self._dispatcher.stop()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the threads to end (after :meth:`stop`), then stop checkpointing."""
        for t in self._threads:
            t.join(timeout)
        if self._checkpointer is not None:
            self._checkpointer.stop()

    def alive(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def status(self) -> dict[str, Any]:
        """What ``/healthz`` shows of the processes this one runs: its own and the worker's."""
        out: dict[str, Any] = {"api": {"pid": os.getpid()}}
        if self._child is not None:
            out["worker"] = self._child.status()
        elif self._workers:
            out["worker"] = {
                "pid": os.getpid(),
                "running": any(t.is_alive() for t in self._threads),
            }
        return out

    def healthy(self) -> bool:
        return self._child is None or self._child.running()
