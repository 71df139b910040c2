"""Running the ``sourcing`` command in-process from tests (imported by the CLI and hostile-input tests)."""

from __future__ import annotations

import json
import re
import sys

import pytest

from optimizer.cli import main

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(monkeypatch, capsys, *args):
    """Run ``sourcing *args`` in-process; return (exit code, stdout, stderr). Never a traceback."""
    monkeypatch.setattr(sys, "argv", ["sourcing", *[str(a) for a in args]])
    with pytest.raises(SystemExit) as exc:
        main()
    captured = capsys.readouterr()
    out, err = ANSI.sub("", captured.out), ANSI.sub("", captured.err)
    assert "Traceback" not in out + err
    return exc.value.code, out, err


def run_json(monkeypatch, capsys, *args):
    """``run`` with ``--json``: exactly one JSON document on stdout, parsed."""
    code, out, err = run(monkeypatch, capsys, *args, "--json")
    return code, json.loads(out), err


def flat(text: str) -> str:
    """Text with line breaks and runs of spaces collapsed (rich may wrap long lines)."""
    return " ".join(text.split())
