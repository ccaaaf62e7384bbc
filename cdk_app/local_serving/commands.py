"""`python -m cdk_app serve`: model.tar.gz on the real SageMaker serving stack (TorchServe) on 127.0.0.1, behind the
SageMaker Runtime API front, until Ctrl-C or SIGTERM. The serving stack is imported only when the command runs."""

from __future__ import annotations

import argparse
import signal
from contextlib import ExitStack
from pathlib import Path

from cdk_app.command_line import served_archive, until_stopped
from cdk_app.deployment.config import LOCAL_ENDPOINT_NAME
from cdk_app.paths import REPO_ROOT


def _serve(args: argparse.Namespace) -> int:
    from cdk_app.client.example_requests import BATCH_REQUEST_FILE, GUIDE_REQUEST_FILE
    from cdk_app.local_serving.local_endpoint import LocalEndpoint
    from cdk_app.progress import say, step

    endpoint = LocalEndpoint(served_archive(args.archive), endpoint_name=args.endpoint_name, port=args.port,
                             ready_timeout=args.ready_timeout)
    with until_stopped(), ExitStack() as running:
        running.callback(endpoint.stop)
        with step("starting the SageMaker PyTorch serving stack (TorchServe) and waiting for READY workers"):
            endpoint.start()
        print(f"endpoint-url: {endpoint.url}", flush=True)
        print(f"container-url: {endpoint.container_url}", flush=True)
        guide, batch = (p.relative_to(REPO_ROOT) for p in (GUIDE_REQUEST_FILE, BATCH_REQUEST_FILE))
        say(f"try: python -m cdk_app predict --endpoint-url {endpoint.url} --endpoint-name {args.endpoint_name} "
            f"{guide}   (or {batch})\n"
            f"  or: aws sagemaker-runtime invoke-endpoint --endpoint-url {endpoint.url} "
            f"--endpoint-name {args.endpoint_name} --content-type application/json --body fileb://{guide} out.json"
            "\nCtrl-C stops it.")
        signal.pause()
    return 0


def add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve model.tar.gz locally on the real SageMaker serving stack",
                       description="Extract model.tar.gz as /opt/ml/model and serve it with the PyTorch 2.6.0 DLC's "
                                   "stack (sagemaker-pytorch-inference on TorchServe) on 127.0.0.1, behind a "
                                   "SageMaker Runtime API front (InvokeEndpoint), until Ctrl-C or SIGTERM.")
    p.add_argument("--port", type=int, help="Runtime API port (default: a free one)")
    p.add_argument("--archive", type=Path, help="model.tar.gz to serve (default: build it from artifacts/)")
    p.add_argument("--endpoint-name", default=LOCAL_ENDPOINT_NAME,
                   help="name InvokeEndpoint answers to (default: %(default)s)")
    p.add_argument("--ready-timeout", type=float, default=120.0,
                   help="seconds to wait for READY workers (default: %(default)s)")
    p.set_defaults(handler=_serve)
