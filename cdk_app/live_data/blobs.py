"""Where a history lives: a local folder or `s3://bucket/prefix`, behind the same four calls.

Every write replaces a whole object atomically (a rename on disk; S3 objects are atomic by nature), so a
collector killed mid-write leaves the previous version, never half a file. One writer at a time: on disk
an exclusive `flock` held for the collector's life (a second collector is refused at once); in S3 a lease
object taken with a conditional PUT for the length of one poll (collectors on S3, such as the Lambda
function and a laptop, take turns, and each poll's writes stay whole).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TextIO

LOCK_NAME = "collector.lock"
S3_LEASE_SECONDS = 900  # a poll that dies holding the lease frees it after this
S3_LOCK_WAIT_SECONDS = 20.0


class HistoryInUseError(RuntimeError):
    """Another collector writes this history."""


class Blobs(Protocol):
    location: str

    def read(self, key: str) -> bytes | None: ...

    def write(self, key: str, data: bytes) -> None: ...

    def keys(self, prefix: str) -> list[str]: ...

    def exclusive(self) -> Any: ...  # a context manager: held while this process writes


class LocalBlobs:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)
        self._lock: TextIO | None = None

    def read(self, key: str) -> bytes | None:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, key: str, data: bytes) -> None:
        """Written beside, flushed to disk, then renamed over: a SIGKILL leaves the old file or the new one."""
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with temporary.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(path)

    def keys(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*")
                      if p.is_file() and not p.name.startswith("."))

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Held until the process ends or leaves the block; the kernel frees it if the process is killed."""
        if self._lock is not None:  # already ours (a long-running collector takes it once)
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        handle = (self.root / LOCK_NAME).open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise HistoryInUseError(f"{self.location}: another collector writes this history ({holder}); "
                                    "run one collector per history") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        self._lock = handle
        try:
            yield
        finally:
            self._lock = None
            handle.close()


class S3Blobs:
    def __init__(self, bucket: str, prefix: str, client: Any = None,
                 lock_wait_seconds: float = S3_LOCK_WAIT_SECONDS) -> None:
        import boto3

        self.bucket, self.prefix, self.lock_wait_seconds = bucket, prefix.strip("/"), lock_wait_seconds
        self.location = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.client = client or boto3.client("s3")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def read(self, key: str) -> bytes | None:
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        return body

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        strip = len(self._key(""))
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                          Prefix=self._key(prefix)):
            found.extend(item["Key"][strip:] for item in page.get("Contents", []))
        return sorted(found)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        from botocore.exceptions import ClientError

        key = self._key(LOCK_NAME)
        deadline = time.monotonic() + self.lock_wait_seconds
        while True:
            lease = json.dumps({"holder": f"pid {os.getpid()}", "expires": time.time() + S3_LEASE_SECONDS})
            try:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=lease.encode(), IfNoneMatch="*")
                break
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
                    raise
            if self._lease_expired(key):
                self.client.delete_object(Bucket=self.bucket, Key=key)
                continue
            if time.monotonic() > deadline:
                raise HistoryInUseError(f"{self.location}: another collector is writing this history; "
                                        f"it was still writing after {self.lock_wait_seconds:g} s")
            time.sleep(min(1.0, self.lock_wait_seconds / 4))
        try:
            yield
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def _lease_expired(self, key: str) -> bool:
        body = self.read(LOCK_NAME)
        try:
            return body is not None and float(json.loads(body)["expires"]) < time.time()
        except (ValueError, KeyError, TypeError):
            return True  # an unreadable lease is no lease


def open_blobs(location: str | Path, region: str | None = None) -> Blobs:
    text = str(location)
    if text.startswith("s3://"):
        import boto3

        bucket, _, prefix = text[len("s3://"):].partition("/")
        if not bucket:
            raise ValueError(f"--history: {text!r} names no bucket (expected s3://bucket/prefix)")
        return S3Blobs(bucket, prefix, boto3.client("s3", region_name=region))
    return LocalBlobs(Path(text))
