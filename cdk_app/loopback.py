"""Loopback helpers for the servers this product starts: they bind 127.0.0.1 on a free port, never a fixed one."""

from __future__ import annotations

import socket

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def url(port: int) -> str:
    return f"http://{HOST}:{port}"
