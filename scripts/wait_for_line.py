"""Waits (10 s at most) until each named file holds a line: a background helper's address."""

import pathlib
import sys
import time

deadline = time.monotonic() + 10
for name in sys.argv[1:]:
    path = pathlib.Path(name)
    while not (path.exists() and path.read_text().endswith("\n")):
        if time.monotonic() > deadline:
            sys.exit(f"{name}: no address within 10 s")
        time.sleep(0.05)
