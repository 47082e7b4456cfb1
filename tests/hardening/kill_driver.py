"""Run ``kscert ARGS`` and SIGKILL this very process when SQLite starts statement N.

Usage: python kill_driver.py N TRACE_FILE ARGS...

Every SQLite connection the program opens gets a trace callback (called as each
statement starts to run). With N = 0 nothing is killed and the statements are written
to TRACE_FILE, one a line, so the test learns how many kill points an operation has.
The modules the CLI imports lazily are imported first, so the kill points are the
operation's statements and nothing else.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any


def main() -> int:
    target = int(sys.argv[1])
    trace_file = Path(sys.argv[2])
    argv = sys.argv[3:]
    from kscert_gui import cli
    from kscert_gui.services import inputs, secrets, server  # noqa: F401 - warm the imports

    cli.build_parser()
    seen: list[str] = []
    real_connect = sqlite3.connect

    def on_statement(sql: str) -> None:
        seen.append(" ".join(sql.split())[:80])
        if len(seen) == target:
            os.kill(os.getpid(), signal.SIGKILL)

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn: sqlite3.Connection = real_connect(*args, **kwargs)
        conn.set_trace_callback(on_statement)
        return conn

    sqlite3.connect = connect  # type: ignore[assignment]
    try:
        return cli.main(argv)
    finally:
        if target == 0:
            trace_file.write_text("\n".join(seen) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
