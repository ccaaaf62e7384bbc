"""The command line: every subcommand's --help answers, quickly and without heavy imports."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from cdk_app.cli import build_parser
from cdk_app.paths import REPO_ROOT


def _subcommands() -> list[str]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(actions[0].choices)


def test_the_documented_commands_exist() -> None:
    assert {"train", "package", "convert-scaler"} <= set(_subcommands())


@pytest.mark.parametrize("command", _subcommands())
def test_help_works_for_every_subcommand(command: str) -> None:
    code = ("import sys; from cdk_app.cli import main\n"
            f"try:\n    main([{command!r}, '--help'])\nexcept SystemExit as e:\n    code = e.code\n"
            "heavy = sorted(m for m in ('torch', 'aws_cdk', 'boto3') if m in sys.modules)\n"
            "print('HEAVY', heavy); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"usage: python -m cdk_app {command}" in result.stdout
    assert "HEAVY []" in result.stdout


def test_no_command_prints_usage_and_fails() -> None:
    result = subprocess.run([sys.executable, "-m", "cdk_app"], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "COMMAND" in result.stderr
