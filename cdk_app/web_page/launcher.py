"""Runs the page with Streamlit on 127.0.0.1 and prints `ui-url: ...` once Streamlit reports healthy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from cdk_app.child_process import terminate
from cdk_app.loopback import HOST, url
from cdk_app.paths import MODEL_CODE_DIR, REPO_ROOT

PAGE = Path(__file__).resolve().parent / "page.py"


def streamlit_command(port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(PAGE), "--server.address", HOST, "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false", "--global.developmentMode", "false",
            "--server.fileWatcherType", "none", "--client.toolbarMode", "viewer"]


def wait_healthy(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{url(port)}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"streamlit was not healthy on port {port} within {timeout:.0f} s")


def serve_page(port: int, api_url: str, ready_timeout: float = 60.0) -> int:
    """Blocks until SIGINT or SIGTERM, then stops Streamlit by its PID."""
    # Streamlit runs page.py as a script: the repository and model_code/ (the contract) go on its path.
    paths = (str(REPO_ROOT), str(MODEL_CODE_DIR), os.environ.get("PYTHONPATH", ""))
    env = {**os.environ, "VELIB_API_URL": api_url, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    process = subprocess.Popen(streamlit_command(port), cwd=REPO_ROOT, env=env, stdout=sys.stderr.fileno(),
                               stderr=sys.stderr.fileno())
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)  # after the start: a child would inherit the mask
    try:
        wait_healthy(port, process, ready_timeout)
        print(f"ui-url: {url(port)}", flush=True)
        signal.sigwait(stop_signals)
    finally:
        terminate(process)
    return 0
