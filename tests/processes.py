"""Real crmbatch processes (``crmbatch serve``, ``crmbatch worker``, CLI calls) for tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

BIN = Path(sys.executable).parent / "crmbatch"


def env_for(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMBATCH_")}
    env.pop("BREVO_CLIENT_ID", None)
    env.pop("BREVO_CLIENT_SECRET", None)
    env["CRMBATCH_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def cli(database_url: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), *args],
        env=env_for(database_url, **extra),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def create_account(database_url: str, name: str) -> str:
    done = cli(database_url, "accounts", "create", name, "--json")
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["api_key"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """A crmbatch subprocess, stopped (or killed) at the end."""

    def __init__(self, database_url: str, *args: str, log: Path, **extra: str) -> None:
        self.log = log
        self._out = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            [str(BIN), *args],
            env=env_for(database_url, **extra),
            stdout=self._out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        self.popen.kill()
        self.popen.wait(10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._out.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def serve(database_url: str, log: Path, **extra: str) -> tuple[Proc, str]:
    port = free_port()
    proc = Proc(database_url, "serve", "--port", str(port), log=log, **extra)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.popen.poll() is not None or time.monotonic() > deadline:
            proc.stop()
            raise RuntimeError(f"crmbatch serve did not start:\n{proc.output()}")
        time.sleep(0.1)


def wait_status(get: Any, wanted: tuple[str, ...], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if value in wanted:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still {value!r} after {timeout}s, wanted {wanted}")
        time.sleep(0.05)
