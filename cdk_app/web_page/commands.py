"""`python -m cdk_app ui`: the predictions page (Streamlit) for a running API. Streamlit is imported only when it
runs, so `--help` stays instant."""

from __future__ import annotations

import argparse


def _ui(args: argparse.Namespace) -> int:
    from cdk_app.web_page.launcher import serve_page

    return serve_page(args.port, args.api_url)


def add_ui(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ui", help="serve the predictions page (Streamlit) for a running API",
                       description="Live availability and forecasts on a map of Paris, and one station in detail. "
                                   "Serves on 127.0.0.1 until Ctrl-C and prints ui-url when ready.")
    p.add_argument("--port", type=int, default=8501, help="port on 127.0.0.1 (default: %(default)s)")
    p.add_argument("--api-url", default="http://127.0.0.1:8000", help="the API (default: %(default)s)")
    p.set_defaults(handler=_ui)
