"""`python -m cdk_app rehearse`: the deploy rehearsal against a local AWS emulator. moto, boto3 and the CDK CLI's
steps are imported only when it runs, so `--help` stays instant."""

from __future__ import annotations

import argparse


def _rehearse(args: argparse.Namespace) -> int:
    from cdk_app.rehearsal.steps import format_table, rehearse

    print(format_table(rehearse()))
    return 0


def add_rehearse(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rehearse", help="rehearse bootstrap/deploy/update/destroy against a local AWS emulator",
                       description="Start a patched moto server on 127.0.0.1 and run the real CDK CLI through "
                                   "bootstrap, deploy, an update (memory, concurrency, model), a no-change deploy, "
                                   "a failed deploy and the good deploy after it, and destroy, checking the "
                                   "emulated account with boto3 after each step. No AWS account is touched.")
    p.set_defaults(handler=_rehearse)
