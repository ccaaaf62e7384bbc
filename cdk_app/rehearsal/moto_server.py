"""`python -m cdk_app.rehearsal.moto_server --port N`: moto's server on loopback, with our patches applied first."""

from __future__ import annotations

import argparse
import signal
import threading

from moto.server import ThreadedMotoServer

import cdk_app.rehearsal.moto_patches  # noqa: F401 - applies the patches on import


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m cdk_app.rehearsal.moto_server",
                                     description="A patched moto server on 127.0.0.1, for deploy rehearsals.")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    print(f"moto listening on http://127.0.0.1:{args.port}", flush=True)
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
