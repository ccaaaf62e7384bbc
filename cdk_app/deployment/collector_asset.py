"""Stages the collector function's code as a folder, which CDK zips into the Lambda asset.

The folder mirrors the repository: `cdk_app/live_data/`, every first-party module those import when they
load (found by reading their imports, so a new import needs no list kept here), and a copy of the `tzdata`
package, since Lambda's Python runtime may have no /usr/share/zoneinfo and the collector needs Europe/Paris.
CDK names the asset by a hash of the folder's contents, so the same sources give the same asset and a
redeploy with no change updates no function; files are synchronized, not rewritten, and nothing else
(no __pycache__) is left in the folder.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cdk_app.atomic_files import write_bytes
from cdk_app.paths import BUILD_DIR, MODEL_CODE_DIR, REPO_ROOT

LIVE_DATA = Path("cdk_app") / "live_data"
TZDATA = "tzdata"
DEFAULT_STAGING = BUILD_DIR / "collector-function"
HANDLER = "cdk_app.live_data.lambda_handler.handler"


@dataclass(frozen=True)
class CollectorAsset:
    path: Path
    files: tuple[str, ...]  # relative to `path`, sorted


def stage_collector_asset(output: Path = DEFAULT_STAGING, repo_root: Path = REPO_ROOT) -> CollectorAsset:
    """Make `output` hold exactly the collector's files, touching only those that changed."""
    sources = asset_sources(repo_root)
    for name, source in sources.items():
        data = source.read_bytes()
        target = output / name
        if not target.is_file() or target.read_bytes() != data:
            write_bytes(target, data)
    for stale in sorted(output.rglob("*"), reverse=True):  # files before the folders that hold them
        if stale.is_file() and stale.relative_to(output).as_posix() not in sources:
            stale.unlink()
        elif stale.is_dir() and not any(stale.iterdir()):
            stale.rmdir()
    return CollectorAsset(output, tuple(sorted(sources)))


def asset_sources(repo_root: Path = REPO_ROOT) -> dict[str, Path]:
    """Name in the asset -> source file: live_data, the first-party modules it loads, and tzdata."""
    roots = (repo_root, repo_root / MODEL_CODE_DIR.relative_to(REPO_ROOT))  # as cdk_app/__init__ puts it on sys.path
    pending = sorted((repo_root / LIVE_DATA).glob("*.py"))
    found: dict[str, Path] = {}
    while pending:
        path = pending.pop()
        name = path.relative_to(repo_root).as_posix()
        if name not in found:
            found[name] = path
            root = max((r for r in roots if path.is_relative_to(r)), key=lambda r: len(r.parts))
            package = path.parent.relative_to(root).parts
            for module in _load_time_imports(ast.parse(path.read_bytes(), name), package):
                pending += _first_party_files(module, roots)
    return {**found, **_tzdata_files()}


def _load_time_imports(tree: ast.Module, package: tuple[str, ...]) -> Iterator[str]:
    """Modules (and names that may be modules) imported when the module loads: not those imported inside
    functions or under `if TYPE_CHECKING`, which the collector never runs."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parent = package[:len(package) - node.level + 1] if node.level else ()
            base = ".".join([*parent, *([node.module] if node.module else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and not (
                isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)):
            stack.extend(ast.iter_child_nodes(node))


def _first_party_files(module: str, roots: tuple[Path, ...]) -> list[Path]:
    """The module's file and its packages' __init__.py, when it lives in the repository (else nothing)."""
    parts = module.split(".")
    for root in roots:
        files = [root.joinpath(*parts[:depth], "__init__.py") for depth in range(1, len(parts))]
        leaf = [p for p in (root.joinpath(*parts).with_suffix(".py"), root.joinpath(*parts, "__init__.py"))
                if p.is_file()]
        if leaf and all(f.is_file() for f in files):
            return [*files, leaf[0]]
    return []


def _tzdata_files() -> dict[str, Path]:
    spec = importlib.util.find_spec(TZDATA)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {TZDATA} package is not installed; it is in requirements.txt")
    package = Path(next(iter(spec.submodule_search_locations)))
    return {f"{TZDATA}/{p.relative_to(package).as_posix()}": p for p in sorted(package.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}
