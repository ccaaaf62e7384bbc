"""What several `python -m cdk_app` commands share: which endpoint to call, stopping on SIGTERM as on Ctrl-C, and
the model archive to serve. Light on purpose: every command module imports it, so `--help` stays instant."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cdk_app.deployment.config import LOCAL_ENDPOINT_NAME, endpoint_name_for, project_context
from cdk_app.paths import ARTIFACTS_DIR, DEFAULT_ARCHIVE, MODEL_CODE_DIR


def add_endpoint_arguments(p: argparse.ArgumentParser) -> None:
    """Which endpoint `predict` and `api` call: the local one by URL, or one in AWS by name and region."""
    p.add_argument("--endpoint-name", help=f"default: {LOCAL_ENDPOINT_NAME} with --endpoint-url, else the "
                                           "endpoint of the stage in cdk.json")
    p.add_argument("--endpoint-url", help="e.g. the endpoint-url printed by `serve`; default: AWS")
    p.add_argument("--region", help="AWS region (default: your AWS configuration)")


def endpoint_name(args: argparse.Namespace) -> str:
    if args.endpoint_name:
        return str(args.endpoint_name)
    return LOCAL_ENDPOINT_NAME if args.endpoint_url else endpoint_name_for(str(project_context()["stage"]))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextmanager
def until_stopped() -> Iterator[None]:
    """SIGTERM ends a long-running command the way Ctrl-C does, through the same clean-up, and exits 0."""
    from cdk_app.progress import say

    for stop_signal in (signal.SIGTERM, signal.SIGINT):  # SIGINT too: a shell may start us with it ignored
        signal.signal(stop_signal, _interrupt)
    try:
        yield
    except KeyboardInterrupt:
        say("stopping")


def served_archive(path: Path | None, artifacts: Path = ARTIFACTS_DIR, output: Path = DEFAULT_ARCHIVE) -> Path:
    """`path` when given (--archive), else the archive built from `artifacts` into `output`."""
    from cdk_app.deployment.model_archive import build_archive
    from cdk_app.progress import step

    if path is not None:
        return path
    with step(f"building {output.name} from {artifacts}"):
        return build_archive(artifacts, MODEL_CODE_DIR, output).path
