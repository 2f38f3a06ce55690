"""Run many imgtool command lines in one process: `python imgtool_batch.py < jobs.json`.

Each job is an argv list for the `imgtool` command (e.g. ["verify", "-k", K, FILE]); the
output is a JSON list of {"rc", "stdout"}. It drives imgtool's own click CLI exactly as the
console script does, minus ~0.2 s of interpreter start per call, which keeps the hundreds of
comparison runs inside the suite's time budget. The tests also run a sample through the real
console script and check that both agree.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys

from imgtool.main import imgtool


def run(argv: list[str]) -> dict[str, object]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            imgtool.main(argv, prog_name="imgtool", standalone_mode=False)
            rc = 0
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 1
        except Exception as exc:  # imgtool crashes on some truncated files: a rejection too
            print(f"{type(exc).__name__}: {exc}", file=err)
            rc = 1
    return {"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}


if __name__ == "__main__":
    json.dump([run(job) for job in json.load(sys.stdin)], sys.stdout)
