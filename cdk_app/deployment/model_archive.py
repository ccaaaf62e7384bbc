"""Builds model.tar.gz byte for byte the same from the same inputs.

CDK hashes the file to name the S3 asset, so a deterministic archive means a redeploy with no
change uploads nothing and replaces no Model. Entries are sorted, owners and mtimes fixed, and
the gzip header carries no name or time.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from forecast_contract import ARTIFACT_FILES, WEIGHTS_FILE, artifacts_version

from cdk_app.atomic_files import write_bytes

CODE_FILES = ("forecast_contract.py", "inference.py", "model_utils.py")
# Optional, and best absent: the toolkit pip-installs it at every cold start whenever it exists, even empty.
REQUIREMENTS_FILE = "requirements.txt"
# What the pytorch-inference:2.6.0-cpu-py312 DLC already has; listed, each would be reinstalled at every cold start.
DLC_PACKAGES = frozenset({"torch", "numpy", "scipy", "scikit-learn", "sklearn", "pandas", "boto3", "botocore",
                          "requests", "pyyaml", "sagemaker-inference", "sagemaker-pytorch-inference", "torchserve"})
_REQUIREMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")
HANDLERS = ("model_fn", "input_fn", "predict_fn", "output_fn")
FIXED_MTIME = 315532800  # 1980-01-01, the oldest date every unpacking tool accepts
MAX_ARCHIVE_BYTES = 100 * 1024 * 1024


class PackagingError(ValueError):
    """The inputs would make an archive the endpoint cannot serve; the message names the file."""


@dataclass(frozen=True)
class Archive:
    path: Path
    sha256: str
    size: int
    model_version: str
    members: tuple[str, ...]


def archive_members(artifacts_dir: Path, code_dir: Path) -> list[tuple[str, Path]]:
    """(name in archive, source) pairs: the artifacts at the root, the handlers under code/."""
    code = [*CODE_FILES, *([REQUIREMENTS_FILE] if (code_dir / REQUIREMENTS_FILE).is_file() else [])]
    return ([(name, artifacts_dir / name) for name in ARTIFACT_FILES]
            + [(f"code/{name}", code_dir / name) for name in code])


def check_layout(artifacts_dir: Path, code_dir: Path) -> None:
    """Refuse inputs the container would choke on, before anything is written."""
    for name, source in archive_members(artifacts_dir, code_dir):
        if not source.is_file():
            raise PackagingError(f"{name}: missing ({source})")
        if name == f"code/{REQUIREMENTS_FILE}":
            check_requirements(source)
        elif source.stat().st_size == 0:
            raise PackagingError(f"{name}: is empty ({source})")
        if name.endswith(".json"):
            try:
                json.loads(source.read_bytes())
            except ValueError as exc:
                raise PackagingError(f"{name}: not valid JSON ({exc})") from exc
    if not (artifacts_dir / WEIGHTS_FILE).read_bytes()[:2] == b"PK":
        raise PackagingError(f"{WEIGHTS_FILE}: not a torch.save file (save a plain state_dict)")
    try:
        tree = ast.parse((code_dir / "inference.py").read_text(), "inference.py")
    except SyntaxError as exc:
        raise PackagingError(f"code/inference.py: syntax error at line {exc.lineno}: {exc.msg}") from exc
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    missing = [h for h in HANDLERS if h not in defined]
    if missing:
        raise PackagingError(f"code/inference.py: does not define {', '.join(missing)}")


def check_requirements(path: Path) -> None:
    """A requirements.txt costs a pip run at every cold start: it must list something, and nothing the DLC has."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    names = {m.group(0).lower().replace("_", "-") for m in map(_REQUIREMENT_NAME.match, lines) if m}
    if not names:
        raise PackagingError(f"code/{REQUIREMENTS_FILE}: lists no package; delete it ({path}): the toolkit "
                             "pip-installs it at every cold start, which costs about 0.5 s even when it is empty")
    clash = sorted(names & DLC_PACKAGES)
    if clash:
        raise PackagingError(f"code/{REQUIREMENTS_FILE}: lists {', '.join(clash)}, which the pytorch-inference DLC "
                             "already has; whatever is listed is pip-installed at every cold start, so drop it")


def archive_bytes(artifacts_dir: Path, code_dir: Path) -> bytes:
    return deterministic_tar_gz(archive_members(artifacts_dir, code_dir))


def deterministic_tar_gz(members: Iterable[tuple[str, Path]]) -> bytes:
    """A .tar.gz of (name in archive, source) pairs that depends only on those names and bytes: each folder
    before the files, both sorted, owners and times fixed, and no name or time in the gzip header."""
    files = sorted(members)
    folders = sorted({str(folder) for name, _ in files for folder in PurePosixPath(name).parents} - {"."})
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for folder in folders:
            tar.addfile(_entry(folder, tarfile.DIRTYPE, 0, 0o755))
        for name, source in files:
            data = source.read_bytes()
            tar.addfile(_entry(name, tarfile.REGTYPE, len(data), 0o644), io.BytesIO(data))
    gz_buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz_buffer, mtime=0, compresslevel=9) as gz:
        gz.write(tar_buffer.getvalue())
    return gz_buffer.getvalue()


def _entry(name: str, kind: bytes, size: int, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode, info.mtime = kind, size, mode, FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def build_archive(artifacts_dir: Path, code_dir: Path, output: Path) -> Archive:
    """Check, build and write atomically; an unchanged archive on disk is left untouched."""
    check_layout(artifacts_dir, code_dir)
    data = archive_bytes(artifacts_dir, code_dir)
    if len(data) > MAX_ARCHIVE_BYTES:
        raise PackagingError(f"model.tar.gz: {len(data)} bytes is over the {MAX_ARCHIVE_BYTES} byte limit "
                             "this product sets to keep cold starts short")
    if not output.is_file() or output.read_bytes() != data:
        write_bytes(output, data)
    members = ("code/", *sorted(name for name, _ in archive_members(artifacts_dir, code_dir)))
    return Archive(output, hashlib.sha256(data).hexdigest(), len(data),
                   artifacts_version(artifacts_dir), members)
