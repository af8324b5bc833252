"""`make demo PORT=...`: a busy port is refused before anything loads, and links follow the port."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from impactmodel.demo import port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def busy_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def test_a_busy_port_is_refused_with_a_free_one_to_use(busy_port):
    message = port.problem(str(busy_port))
    suggested = port.next_free(busy_port)
    assert message.startswith(f"port {busy_port} is in use")
    assert f"run `make demo PORT={suggested}`" in message
    assert suggested > busy_port and not port.in_use(suggested)


def test_a_free_port_passes(busy_port):
    free = port.next_free(busy_port)
    assert port.problem(str(free)) is None


@pytest.mark.parametrize("text", ["", "abc", "80", "70000", "5000x"])
def test_a_port_that_is_not_one_is_refused(text):
    assert port.problem(text).startswith("PORT must be a number from 1024 to 65535")


def test_the_check_runs_with_the_system_python_before_anything_is_installed(busy_port):
    # As the Makefile runs it: a script of the standard library only, no virtual environment.
    checked = subprocess.run([sys.executable, "-I", "impactmodel/demo/port.py", str(busy_port)],
                             cwd=ROOT, capture_output=True, text=True)
    assert checked.returncode == 1 and f"port {busy_port} is in use" in checked.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_checks_the_port_first_and_links_follow_it():
    # Run as from a shell, also when the suite itself runs under `make test` (a nested make
    # would otherwise print its directory changes around the plan).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    plan = subprocess.run(["make", "--no-print-directory", "-n", "demo", "PORT=5050"], cwd=ROOT,
                          capture_output=True, text=True, check=True, env=env).stdout.splitlines()
    check = next(i for i, line in enumerate(plan) if "impactmodel/demo/port.py 5050" in line)
    load = next(i for i, line in enumerate(plan) if "impactmodel demo-data" in line)
    install = next(i for i, line in enumerate(plan) if "-c requirements/constraints.txt -e ." in line)
    assert check < install < load
    assert "IMPACTMODEL_BASE_URL=http://127.0.0.1:5050" in plan[load]
    assert plan[-1].endswith("impactmodel run --host 127.0.0.1 --port 5050")
    assert "IMPACTMODEL_BASE_URL=http://127.0.0.1:5050" in plan[-1]
