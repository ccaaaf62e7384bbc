"""moto on a free loopback port, in its own process, always stopped by its PID, and clients that talk to it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

from cdk_app.child_process import terminate
from cdk_app.loopback import HOST, free_port, url
from cdk_app.paths import REPO_ROOT

ACCOUNT = "123456789012"  # moto's account


class EmulatorError(RuntimeError):
    """moto did not start; the message carries its log."""


class Emulator:
    def __init__(self, region: str) -> None:
        self.region = region
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix="moto-", suffix=".log")[1])

    @property
    def url(self) -> str:
        return url(self.port)

    def start(self, timeout: float = 60.0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cdk_app.rehearsal.moto_server", "--port", str(self.port)], cwd=REPO_ROOT,
            stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmulatorError(f"moto exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise EmulatorError(f"moto did not listen on port {self.port} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process)
        self.process = None
        self.log.unlink(missing_ok=True)

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def environment(self) -> dict[str, str]:
        """What the CDK CLI needs to deploy to the emulator and nowhere else."""
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_DEFAULT_"))}
        return {**keep, "AWS_ENDPOINT_URL": self.url,
                # The CLI builds the template URL from the endpoint; moto would read "127" as a bucket name.
                "AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION": f"http://localhost:{self.port}",
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                "AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region, "AWS_EC2_METADATA_DISABLED": "true",
                "CDK_DISABLE_VERSION_CHECK": "1", "CDK_DISABLE_CLI_TELEMETRY": "true",
                "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=self.region, aws_access_key_id="testing",
                            aws_secret_access_key="testing", aws_session_token="testing")
