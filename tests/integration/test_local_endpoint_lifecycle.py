"""Starting and stopping the local endpoint: failures are clear and bounded, and nothing is left behind.

Each test starts servers of its own, so each asks for a machine without the tier's shared endpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from cdk_app.client.example_requests import guide_request
from cdk_app.local_serving.model_server import (
    TS_PROPERTIES,
    ModelServer,
    ServerError,
    namespaces_available,
    running_model_servers,
)
from cdk_app.paths import REPO_ROOT

pytestmark = [pytest.mark.server, pytest.mark.usefixtures("machine_without_endpoint")]


def assert_nothing_left() -> None:
    assert running_model_servers() == []
    assert not TS_PROPERTIES.exists()


def without(archive: Path, member: str, target: Path) -> Path:
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as out:
        for info in source.getmembers():
            if info.name != member:
                out.addfile(info, source.extractfile(info) if info.isfile() else None)
    return target


@pytest.mark.timeout(300)  # a broken model fails the start well before its 600 s ready timeout
def test_archive_without_weights_fails_clearly_and_in_bounded_time(archive: Path, tmp_path: Path) -> None:
    broken = without(archive, "best_model.pth", tmp_path / "broken.tar.gz")
    server = ModelServer(broken, ready_timeout=600)
    with pytest.raises(ServerError, match=r"best_model\.pth"):
        server.start()
    assert server.scratch is None
    assert_nothing_left()


def test_archive_without_handlers_is_refused_before_starting(archive: Path, tmp_path: Path) -> None:
    broken = without(archive, "code/inference.py", tmp_path / "nocode.tar.gz")
    with pytest.raises(ServerError, match=r"code/inference\.py"):
        ModelServer(broken).start()
    assert_nothing_left()


def test_without_namespaces_a_second_server_is_refused(archive: Path) -> None:
    with ModelServer(archive, isolated=False) as first:
        assert first.process is not None
        with pytest.raises(ServerError, match="already running"):
            ModelServer(archive, isolated=False).start()
    assert_nothing_left()


def test_servers_in_namespaces_of_their_own_run_side_by_side(archive: Path) -> None:
    """What an A/B pair needs locally: the second toolkit sees only its own JVM, as in its own container."""
    assert namespaces_available(), "this machine cannot create PID namespaces (needs root or CAP_SYS_ADMIN)"
    with ModelServer(archive) as first:
        with ModelServer(archive) as second:
            assert len(running_model_servers()) == 2
            assert answer(first) == answer(second)
        assert answer(first)["predictions"]  # the first one still serves once the second is gone
    assert_nothing_left()


def answer(server: ModelServer) -> dict[str, Any]:
    request = urllib.request.Request(f"{server.url}/invocations", data=json.dumps(guide_request()).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        data: dict[str, Any] = json.loads(response.read())
    data.pop("inference_time_ms")
    return data


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_serve_command_stops_cleanly(archive: Path, stop_signal: signal.Signals) -> None:
    scratch_root = Path(os.environ.get("TMPDIR", "/tmp"))
    before = set(scratch_root.glob("velib-endpoint-*"))
    process = subprocess.Popen([sys.executable, "-m", "cdk_app", "serve", "--archive", str(archive)], cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()  # blocks until ready, or EOF if serve died
        assert first_line.startswith("endpoint-url: http://127.0.0.1:"), process.stderr.read() if process.stderr else ""
        scratch_dirs = set(scratch_root.glob("velib-endpoint-*")) - before
        assert len(scratch_dirs) == 1
        process.send_signal(stop_signal)
        assert process.wait(timeout=60) == 0
        assert not any(p.exists() for p in scratch_dirs)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert_nothing_left()
