"""The worker ``crmbatch serve`` starts as a child process (the embedded default), so that
accepting batches and applying them run on separate cores; one command still runs it all.

The child is ``crmbatch worker`` with two extra options: the read end of a pipe on which the
server wakes it the moment it accepts a batch, and the server's pid, which it watches so that it
never outlives the server. The server restarts a child that dies (with a growing pause, reset
once it has run a while), stops it with SIGTERM (it finishes the batch in hand) and reports it
in ``/healthz``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("crmbatch.children")

#: a child that ran this long before dying is restarted at once
STABLE_AFTER = 30.0
#: the longest pause between two restarts
MAX_PAUSE = 10.0


class WorkerChild:
    """One supervised ``crmbatch worker`` process."""

    def __init__(
        self, env: dict[str, str] | None = None, on_died: Callable[[int], Any] | None = None
    ) -> None:
        self.env = {**os.environ, **(env or {})}
        #: called with a dead child's pid before it is started again
        self.on_died = on_died
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="crmbatch-child", daemon=True)
        self.restarts = 0
        self.started_at = 0.0

    def start(self) -> WorkerChild:
        self._spawn()
        self._thread.start()
        return self

    def _spawn(self) -> None:
        command = [
            sys.executable,
            "-m",
            "crmbatch",
            "worker",
            "--wake-fd",
            str(self._wake_read),
            "--parent-pid",
            str(os.getpid()),
        ]
        self._proc = subprocess.Popen(command, env=self.env, pass_fds=(self._wake_read,))
        self.started_at = time.monotonic()
        log.info("worker_child.started", extra={"pid": self._proc.pid})

    def _supervise(self) -> None:
        pause = 0.5
        while not self._stopping.is_set():
            proc = self._proc
            if proc is None:
                return
            code = proc.wait()
            if self._stopping.is_set():
                return
            ran = time.monotonic() - self.started_at
            pause = 0.5 if ran > STABLE_AFTER else min(pause * 2, MAX_PAUSE)
            log.warning(
                "worker_child.died", extra={"pid": proc.pid, "code": code, "restart_in": pause}
            )
            if self.on_died is not None:
                try:
                    self.on_died(proc.pid)
                except Exception:  # the leases run out anyway: another attempt takes them
                    log.exception("worker_child.release_failed", extra={"pid": proc.pid})
            if self._stopping.wait(pause):
                return
            self.restarts += 1
            self._spawn()

    def wake(self) -> None:
        """A batch was accepted: wake the child now (a full pipe means it is awake already)."""
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_write, b"\0")

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def status(self) -> dict[str, Any]:
        return {"pid": self.pid, "running": self.running(), "restarts": self.restarts}

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM: the child finishes the batch it is applying, then exits; killed after
        ``timeout`` seconds."""
        self._stopping.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)


def listen_for_wakes(fd: int, wake: Any) -> threading.Thread:
    """In the child: call ``wake()`` for every byte the server writes on ``fd``."""

    def run() -> None:
        while True:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return
            if not data:
                return
            wake()

    thread = threading.Thread(target=run, name="crmbatch-wakes", daemon=True)
    thread.start()
    return thread


def watch_parent(parent_pid: int, on_gone: Any, every: float = 1.0) -> threading.Thread:
    """In the child: call ``on_gone()`` once the server that started it is gone (its parent is
    no longer that process), so a killed server leaves no worker behind."""

    def run() -> None:
        while os.getppid() == parent_pid:
            time.sleep(every)
        log.warning("worker_child.orphaned", extra={"parent_pid": parent_pid})
        on_gone()

    thread = threading.Thread(target=run, name="crmbatch-parent-watch", daemon=True)
    thread.start()
    return thread
