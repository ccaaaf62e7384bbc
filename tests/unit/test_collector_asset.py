"""The collector function's asset: only the collector's code and tzdata, in sync, and importable on its own."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from cdk_app.deployment.collector_asset import stage_collector_asset
from cdk_app.paths import REPO_ROOT

# What Lambda's Python runtime has besides the standard library: boto3 and what it needs.
LAMBDA_RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


def test_the_asset_holds_live_data_what_it_imports_and_tzdata_only(tmp_path: Path) -> None:
    files = stage_collector_asset(tmp_path / "asset").files
    ours = {f for f in files if not f.startswith("tzdata/")}
    live_data = {p.relative_to(REPO_ROOT).as_posix() for p in (REPO_ROOT / "cdk_app" / "live_data").glob("*.py")}
    assert live_data | {"cdk_app/__init__.py", "cdk_app/paths.py", "model_code/forecast_contract.py"} <= ours
    assert all(f.startswith(("cdk_app/live_data/", "cdk_app/client/", "model_code/forecast_contract.py")) or f in {
        "cdk_app/__init__.py", "cdk_app/paths.py", "cdk_app/atomic_files.py"} for f in ours), ours
    assert "tzdata/zoneinfo/Europe/Paris" in files
    assert not any("__pycache__" in f or f.endswith(".pyc") for f in files)
    assert sorted(p.relative_to(tmp_path / "asset").as_posix() for p in (tmp_path / "asset").rglob("*")
                  if p.is_file()) == list(files)


def test_staging_again_removes_strays_and_leaves_unchanged_files_untouched(tmp_path: Path) -> None:
    asset = stage_collector_asset(tmp_path)
    paris = tmp_path / "tzdata" / "zoneinfo" / "Europe" / "Paris"
    before = paris.stat().st_mtime_ns
    (tmp_path / "cdk_app" / "old_module.py").write_text("stale = True\n")
    (tmp_path / "cdk_app" / "__pycache__").mkdir()
    (tmp_path / "cdk_app" / "__pycache__" / "paths.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "cdk_app" / "paths.py").write_text("changed\n")
    again = stage_collector_asset(tmp_path)
    assert again.files == asset.files
    assert not (tmp_path / "cdk_app" / "old_module.py").exists() and not (tmp_path / "cdk_app" / "__pycache__").exists()
    assert (tmp_path / "cdk_app" / "paths.py").read_bytes() == (REPO_ROOT / "cdk_app" / "paths.py").read_bytes()
    assert paris.stat().st_mtime_ns == before


def lambda_runtime(folder: Path) -> Path:
    """A folder holding only the packages Lambda's Python runtime adds to the standard library."""
    folder.mkdir()
    for name in LAMBDA_RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None
        source = Path(spec.origin)
        source = source.parent if source.name == "__init__.py" else source
        (folder / source.name).symlink_to(source)
    return folder


def test_the_staged_code_imports_and_finds_europe_paris_with_nothing_else_on_the_path(tmp_path: Path) -> None:
    asset = stage_collector_asset(tmp_path / "asset").path
    modules = ["cdk_app.live_data"] + (["cdk_app.live_data.lambda_handler"]
                                       if (asset / "cdk_app" / "live_data" / "lambda_handler.py").is_file() else [])
    code = ("import importlib, sys, zoneinfo, tzdata, cdk_app\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "print(cdk_app.__file__, tzdata.__file__, zoneinfo.ZoneInfo('Europe/Paris').key, zoneinfo.TZPATH)")
    # -S: no site-packages; PYTHONTZPATH empty: no system zoneinfo, so only the staged tzdata can answer.
    env = {**os.environ, "PYTHONPATH": f"{asset}{os.pathsep}{lambda_runtime(tmp_path / 'runtime')}",
           "PYTHONTZPATH": "", "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    package, zones, key, tzpath = result.stdout.split(maxsplit=3)
    assert package.startswith(str(asset)) and zones.startswith(str(asset))
    assert key == "Europe/Paris" and tzpath.strip() == "()"
