"""Serves model.tar.gz on loopback with the DLC's own stack: sagemaker-pytorch-inference on TorchServe.

The toolkit has quirks that this module absorbs: it writes the hard-coded /etc/sagemaker-ts.properties,
finds its JVM by scanning every process it can see, answers /ping before any worker exists, and keeps /ping
at 200 while a broken model_fn crash-loops. Ready here means the management API shows every worker READY.

In SageMaker each endpoint's container has a process table of its own. Where this machine allows it (root,
or CAP_SYS_ADMIN), each server gets one too: `serve` starts as PID 1 of a new PID namespace, so its toolkit
sees only its own JVM and several endpoints (an A/B pair) can run side by side. Elsewhere the toolkit sees
every JVM, so a second server is refused. Starts are serialized either way, since every toolkit writes the
same properties file and its JVM reads it once at start.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from cdk_app.child_process import terminate
from cdk_app.loopback import free_port

TS_JVM_MARKER = "org.pytorch.serve.ModelServer"
TS_PROPERTIES = Path("/etc/sagemaker-ts.properties")
WORKER_FAILURE_MARKERS = ("Load model failed", "Backend worker process died", "Failed to start")
STOP_GRACE_SECONDS = 20.0
# A PID namespace per server, as a container has; --kill-child passes our SIGTERM on to `serve`, its PID 1,
# and when PID 1 exits the kernel ends everything else in the namespace.
NAMESPACE_COMMAND = ("unshare", "--pid", "--mount-proc", "--kill-child=SIGTERM")
START_LOCK = Path(tempfile.gettempdir()) / "velib-model-server.lock"


class ServerError(RuntimeError):
    """The local endpoint could not start or stopped working; the message says why."""


def running_model_servers() -> list[int]:
    """PIDs of TorchServe JVMs on this machine: the toolkit cannot tell two of them apart."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if TS_JVM_MARKER in (process.info["cmdline"] or []):
                found.append(int(process.info["pid"]))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@functools.cache
def namespaces_available() -> bool:
    """Whether this machine lets us give a server its own process table (root, or CAP_SYS_ADMIN)."""
    if shutil.which("unshare") is None:
        return False
    try:
        return subprocess.run([*NAMESPACE_COMMAND, "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@contextmanager
def _start_lock() -> Iterator[None]:
    """Held from writing the shared properties file until the JVM has read it (or until it is removed)."""
    with START_LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Ports:
    inference: int
    management: int
    metrics: int
    grpc_inference: int
    grpc_management: int

    @classmethod
    def pick(cls, inference: int | None = None) -> Ports:
        return cls(inference or free_port(), free_port(), free_port(), free_port(), free_port())


def extract_archive(archive: Path, base_dir: Path) -> Path:
    """Lay the archive out as the container does: <base>/model with code/ inside."""
    model_dir = base_dir / "model"
    model_dir.mkdir(parents=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(model_dir, filter="data")
    except (OSError, tarfile.TarError) as exc:
        raise ServerError(f"{archive}: not a readable model.tar.gz ({exc})") from exc
    if not (model_dir / "code" / "inference.py").is_file():
        raise ServerError(f"{archive}: has no code/inference.py; the toolkit would silently fall back to "
                          "its default handlers, which only load TorchScript")
    return model_dir


class ModelServer:
    """One toolkit server: start() blocks until every worker is READY, stop() leaves nothing behind."""

    def __init__(self, archive: Path, *, port: int | None = None, ready_timeout: float = 120.0,
                 workers: int = 1, isolated: bool | None = None) -> None:
        """`isolated`: run in a PID namespace of its own; by default whenever the machine allows it."""
        self.archive = archive
        self.isolated = namespaces_available() if isolated is None else isolated
        self.ports = Ports.pick(port)
        self.ready_timeout = ready_timeout
        self.workers = workers
        self.scratch: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.ready_seconds = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports.inference}"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.management}"

    def _environment(self, scratch: Path) -> dict[str, str]:
        bin_dir = str(Path(sys.executable).parent)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGEMAKER_", "TS_"))}
        env.update({
            "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
            "SAGEMAKER_BASE_DIR": str(scratch),
            "SAGEMAKER_PROGRAM": "inference.py",
            "SAGEMAKER_MODEL_SERVER_WORKERS": str(self.workers),
            "SAGEMAKER_BIND_TO_PORT": str(self.ports.inference),
            "TS_INFERENCE_ADDRESS": f"http://127.0.0.1:{self.ports.inference}",
            "TS_MANAGEMENT_ADDRESS": f"http://127.0.0.1:{self.ports.management}",
            "TS_METRICS_ADDRESS": f"http://127.0.0.1:{self.ports.metrics}",
            "TS_GRPC_INFERENCE_PORT": str(self.ports.grpc_inference),
            "TS_GRPC_MANAGEMENT_PORT": str(self.ports.grpc_management),
            "TMPDIR": str(scratch / "tmp"),
            "TEMP": str(scratch / "tmp"),
            "OMP_NUM_THREADS": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        return env

    def start(self) -> None:
        if shutil.which("java") is None:
            raise ServerError("java is not on PATH; TorchServe needs a Java 17 runtime")
        others = running_model_servers()
        if others and not self.isolated:
            raise ServerError(f"a TorchServe model server is already running (pid {', '.join(map(str, others))}); "
                              "without a PID namespace of its own (root or CAP_SYS_ADMIN) the SageMaker toolkit "
                              "can only manage one per machine, so stop it first")
        self.scratch = Path(tempfile.mkdtemp(prefix="velib-endpoint-"))
        (self.scratch / "tmp").mkdir()
        try:
            extract_archive(self.archive, self.scratch)
            serve = [str(Path(sys.executable).parent / "serve")]
            with _start_lock():
                self.started_at = time.perf_counter()
                self.process = subprocess.Popen(
                    [*NAMESPACE_COMMAND, *serve] if self.isolated else serve, cwd=self.scratch,
                    env=self._environment(self.scratch), start_new_session=True,
                    stdout=(self.scratch / "serve.log").open("wb"), stderr=subprocess.STDOUT)
                self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _worker_states(self) -> list[str]:
        try:
            with urllib.request.urlopen(f"{self.management_url}/models/model", timeout=2) as response:
                description = json.loads(response.read())
        except (OSError, ValueError):
            return []
        return [str(w.get("status")) for model in description for w in model.get("workers", [])]

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"the model server exited with code {self.process.returncode} before it was "
                                  f"ready:\n{self.log_tail()}")
            states = self._worker_states()
            if states and all(state == "READY" for state in states):
                self.ready_seconds = time.perf_counter() - self.started_at
                return
            failure = self._worker_failure()
            if failure:
                raise ServerError(f"the model failed to load in its worker:\n{failure}")
            time.sleep(0.1)
        raise ServerError(f"no READY worker after {self.ready_timeout:.0f} s:\n{self.log_tail()}")

    def _worker_failure(self) -> str | None:
        """The model's own traceback, once TorchServe says a worker died or failed to load."""
        assert self.scratch is not None
        ts_log = self.scratch / "logs" / "ts_log.log"
        if not ts_log.is_file() or not any(m in ts_log.read_text(errors="replace") for m in WORKER_FAILURE_MARKERS):
            return None
        model_log = self.scratch / "logs" / "model_log.log"
        lines = model_log.read_text(errors="replace").splitlines() if model_log.is_file() else []
        errors = [line.split(" - ", 1)[-1] for line in lines if "Error" in line or "Traceback" in line]
        return "\n".join(errors[-8:]) or self.log_tail()

    def log_tail(self, lines: int = 30) -> str:
        if self.scratch is None:
            return ""
        texts = []
        for name in ("serve.log", "logs/model_log.log"):
            path = self.scratch / name
            if path.is_file():
                texts.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(texts[-lines:])

    def stop(self) -> None:
        """SIGTERM to `serve` (it forwards to the JVM), then make sure the whole session is gone."""
        if self.process is not None:
            group = self.process.pid
            if self.isolated:  # unshare ignores SIGTERM while it waits: tell its child, the namespace's PID 1
                _signal_children(group, signal.SIGTERM)
            terminate(self.process, STOP_GRACE_SECONDS)
            _kill_session(group)
            self.process = None
        with _start_lock():  # not while another server is starting from it
            TS_PROPERTIES.unlink(missing_ok=True)
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def __enter__(self) -> ModelServer:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _signal_children(pid: int, sent: signal.Signals) -> None:
    try:
        children = psutil.Process(pid).children()
    except psutil.NoSuchProcess:
        return
    for child in children:
        try:
            child.send_signal(sent)
        except psutil.NoSuchProcess:
            continue


def _kill_session(session_id: int) -> None:
    """The JVM and worker processes are children in serve's session; none may outlive it."""
    for process in psutil.process_iter(["pid"]):
        try:
            if os.getsid(process.info["pid"]) == session_id:
                process.kill()
        except (ProcessLookupError, PermissionError, psutil.NoSuchProcess):
            continue
    psutil.wait_procs([p for p in psutil.process_iter() if _in_session(p, session_id)], timeout=5)


def _in_session(process: psutil.Process, session_id: int) -> bool:
    try:
        return os.getsid(process.pid) == session_id
    except (ProcessLookupError, PermissionError):
        return False
