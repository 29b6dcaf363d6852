"""The background work of a crmbatch process, started and stopped as one: worker threads, the
webhook sender, the PostgreSQL wake-up listener and the SQLite checkpointer. ``crmbatch serve``
(with the embedded worker) and ``crmbatch worker`` both run exactly this."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from crmbatch.config import Settings
from crmbatch.db.engine import Checkpointer, Database
from crmbatch.delivery import Dispatcher
from crmbatch.wakeup import Listener
from crmbatch.worker import Worker


@dataclass
class Background:
    db: Database
    settings: Settings
    #: worker threads (0: only the checkpointer, for an API process whose workers run elsewhere)
    workers: int = 1
    _workers: list[Worker] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)
    _dispatcher: Dispatcher | None = None
    _listener: Listener | None = None
    _checkpointer: Checkpointer | None = None

    def start(self) -> Background:
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

    def wake(self) -> None:
        """A batch was queued: let an idle worker look now."""
        for w in self._workers:
            w.wake()

    def stop(self) -> None:
        """Each worker finishes the batch it is applying, then everything stops."""
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
