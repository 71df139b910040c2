"""Spies on the readers, shared by the reading tests (tests/test_validation.py, tests/test_hostile.py)."""

from __future__ import annotations

from optimizer.reading.calamine_reader import CalamineReader


def calamine_reads(monkeypatch) -> dict[str, bool]:
    """From now on (until ``monkeypatch`` is undone), every sheet the fast reader is asked for:
    {sheet title: True if python-calamine read it, False if it left the sheet to openpyxl}."""
    reads: dict[str, bool] = {}
    read = CalamineReader.read

    def spy(self, ws):
        lines, has_formulas = read(self, ws)
        reads[ws.title] = lines is not None
        return lines, has_formulas

    monkeypatch.setattr(CalamineReader, "read", spy)
    return reads
