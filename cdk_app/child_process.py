"""A server started as a child process: ready when it prints its URL line, stopped by its own PID.

`up` starts the API and the page this way, and the tests start real API processes with it too.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any


class ChildProcessError(RuntimeError):
    """The child did not start; the message carries what it printed."""


class ChildServer:
    def __init__(self, command: Sequence[str], ready_prefix: str, *, cwd: Path,
                 env: dict[str, str] | None = None, log: Path | None = None) -> None:
        """`log` takes the child's stderr (its request log); without one, it goes to ours."""
        self.command, self.ready_prefix, self.cwd, self.log = list(command), ready_prefix, cwd, log
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 120.0) -> str:
        """Start, and return the URL the child announces on its ready line."""
        stderr = self.log.open("w") if self.log else None
        try:
            self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env, stdout=subprocess.PIPE,
                                            stderr=stderr, text=True)
        finally:
            if stderr is not None:
                stderr.close()
        assert self.process.stdout is not None
        lines = _Lines(self.process.stdout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = lines.next(deadline - time.monotonic())
            if line is None:
                break
            if line.startswith(self.ready_prefix):
                self.url = line[len(self.ready_prefix):].strip()
                return self.url
        self.stop()
        raise ChildProcessError(f"`{' '.join(self.command)}` did not print '{self.ready_prefix}' within "
                                f"{timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log and self.log.is_file() else ""

    def stop(self, grace: float = 15.0) -> None:
        if self.process is None:
            return
        terminate(self.process, grace)
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def __enter__(self) -> ChildServer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def terminate(process: subprocess.Popen[Any], grace: float = 15.0) -> None:
    """SIGTERM by PID, then SIGKILL if it has not exited within `grace` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class _Lines:
    """Lines from a pipe, with a timeout, so a silent child cannot block its parent."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.selector = selectors.DefaultSelector()
        self.selector.register(stream, selectors.EVENT_READ)

    def next(self, timeout: float) -> str | None:
        if timeout <= 0 or not self.selector.select(timeout):
            return None
        line = self.stream.readline()
        return line or None
