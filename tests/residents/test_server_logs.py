"""The servers' access logs name no client: `portal serve` (Werkzeug) and gunicorn with portal/gunicorn_conf.py,
each run for real on 127.0.0.1 and asked for pages; their log lines must not hold the address they saw."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from portal.models import Base

BIN = Path(sys.executable).parent
WAIT = 30.0  # seconds a server may take to start on a busy machine


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'portal.sqlite'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        PORTAL_DATABASE_URL=url,
        PORTAL_INDEX_DIR=str(tmp_path / "index"),
        PORTAL_SECRET_KEY="k" * 40,
        PORTAL_CHECKPOINT_DIR=str(tmp_path / "cp"),
    )
    return env


def _fetch_when_up(port: int, paths: list[str], server: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/privacy", timeout=5).read()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    for path in paths:
        urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10).read()


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def test_gunicorn_with_the_shipped_settings_logs_no_client_address(tmp_path):
    if not (BIN / "gunicorn").is_file():
        pytest.skip("gunicorn is not installed (pip install -e '.[bench]')")
    port, log = _free_port(), tmp_path / "access.log"
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "python:portal.gunicorn_conf", "-w", "2", "-b", f"127.0.0.1:{port}"]
        + ["--access-logfile", str(log), "portal.wsgi:app"],
        env=_environment(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _fetch_when_up(port, ["/privacy.json", "/audit.json"], server)
    finally:
        _stop(server)
    lines = log.read_text(encoding="utf-8").splitlines()
    assert any("GET /privacy.json" in line for line in lines), lines
    assert all(line.startswith("- - - [") for line in lines), lines
    assert not any("127.0.0.1" in line for line in lines), lines


def test_portal_serve_logs_no_client_address(tmp_path):
    port = _free_port()
    server = subprocess.Popen(
        [str(BIN / "portal"), "serve", "--port", str(port)],
        env=_environment(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _fetch_when_up(port, ["/privacy.json"], server)
    finally:
        _stop(server)
    output = server.stderr.read() if server.stderr else ""
    access = [line for line in output.splitlines() if '"GET /' in line]
    assert any("GET /privacy.json" in line for line in access), output
    assert all(line.startswith("- - - [") for line in access), access
    assert not any("127.0.0.1" in line for line in access), access
