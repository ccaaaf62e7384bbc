"""`python -m cdk_app up` (what `make run` starts): the endpoint, the API and the page, stopped together by Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from cdk_app.child_process import terminate
from cdk_app.local_serving.model_server import running_model_servers
from cdk_app.paths import REPO_ROOT

pytestmark = [pytest.mark.server, pytest.mark.usefixtures("machine_without_endpoint")]


@pytest.mark.timeout(300)
def test_up_starts_all_three_and_ctrl_c_stops_them(archive: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "cdk_app", "up", "--archive", str(archive)], cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        urls = dict(process.stdout.readline().strip().split(": ", 1) for _ in range(3))
        assert set(urls) == {"endpoint-url", "api-url", "ui-url"}, urls
        guide = (REPO_ROOT / "examples" / "guide-request.json").read_text()
        answer = requests.post(f"{urls['api-url']}/predict", data=guide, timeout=60,
                               headers={"Content-Type": "application/json"})
        assert answer.status_code == 200 and json.loads(answer.text)["station_code"] == "16107"
        assert requests.get(f"{urls['ui-url']}/_stcore/health", timeout=30).text == "ok"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=90) == 0
    finally:
        terminate(process)
    for url in (urls["api-url"], urls["ui-url"]):
        with pytest.raises(requests.ConnectionError):
            requests.get(url, timeout=5)
    assert running_model_servers() == []
