"""The web page command: `cramp app` serves the coach's page (cramp/web/page.py) with Streamlit."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from cramp.cli.app import app, guarded, out
from model.errors import InputError

HOST = "127.0.0.1"  # this machine only: the page has no log-in
NO_STREAMLIT = ("the web page needs Streamlit, which is not installed in this environment. In "
                "the project: `uv run --extra web cramp app`; from a wheel: `pip install "
                "'cramp-risk[web]'`")


@app.command("app")
@guarded
def web_app(
    port: Annotated[int, typer.Option("--port", help="port on 127.0.0.1 to serve on")] = 8501,
) -> None:
    """Serve the coach's web page on 127.0.0.1 (a form for one runner and one race, the plans
    compared); prints the URL and opens no browser. Stop it with Ctrl+C."""
    try:
        import streamlit  # noqa: F401
    except ImportError:
        raise InputError(NO_STREAMLIT) from None
    if not 1 <= port <= 65535:
        raise InputError(f"--port {port}: must be between 1 and 65535")
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            raise InputError(f"--port {port}: already in use on {HOST}; choose another with "
                             "--port") from None
    page = Path(__file__).resolve().parent.parent / "web" / "page.py"
    out.print(f"cramp web page: http://{HOST}:{port}  (Ctrl+C stops it)", highlight=False)
    sys.stdout.flush()
    os.environ["MPLBACKEND"] = "Agg"
    # the server replaces this process, so stopping `cramp app` stops the server
    os.execv(sys.executable, [sys.executable, "-m", "streamlit", "run", str(page),
                              "--server.address", HOST, "--server.port", str(port),
                              "--server.headless", "true", "--browser.gatherUsageStats", "false",
                              "--server.fileWatcherType", "none", "--global.developmentMode",
                              "false", "--client.toolbarMode", "minimal"])
