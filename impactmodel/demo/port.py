"""`make demo`'s first step: refuse a port that is in use before anything is installed or
loaded, and name a free one to use instead.

Standard library only, so that it runs as ``python3 impactmodel/demo/port.py PORT``
before the virtual environment exists.
"""
from __future__ import annotations

import socket
import sys

HOST = "127.0.0.1"
LOWEST, HIGHEST = 1024, 65535


def in_use(port: int, host: str = HOST) -> bool:
    """Whether a server could not listen on ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the development server does, so a port left in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def next_free(port: int, host: str = HOST, tries: int = 100) -> int | None:
    """The first free port above ``port`` (None if the next ``tries`` are all taken)."""
    for candidate in range(port + 1, min(port + tries, HIGHEST) + 1):
        if not in_use(candidate, host):
            return candidate
    return None


def problem(text: str) -> str | None:
    """What is wrong with serving the demo on port ``text``, as a message; None if nothing."""
    if not text.isdigit() or not LOWEST <= int(text) <= HIGHEST:
        return f"PORT must be a number from {LOWEST} to {HIGHEST} (not {text!r}): run `make demo PORT=5050`"
    port = int(text)
    if not in_use(port):
        return None
    free = next_free(port)
    advice = f"run `make demo PORT={free}`" if free else "give a free port with `make demo PORT=...`"
    return f"port {port} is in use on {HOST} (another program, perhaps an earlier demo, is serving there): " \
           f"{advice}, or stop that program"


def main(argv: list[str]) -> int:
    message = problem(argv[1] if len(argv) > 1 else "")
    if message:
        print(message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
