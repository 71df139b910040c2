"""``write_workbook``: plain input-style sheets from Python data (rows as dicts, or DataFrames).

A normal openpyxl workbook (a header row, then the values; no formatting), saved like every other
workbook the tool writes: through the formula guard and the atomic, deterministic save
(``optimizer.writing.save.save_atomically``). Tests, scripts and notebooks use it to write workbooks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd

from optimizer.writing.save import save_atomically


def write_workbook(path: str | Path, sheets: Mapping[str, Sequence[Mapping[str, Any]] | pd.DataFrame]) -> Path:
    """Write plain sheets (rows as dicts, or DataFrames) to ``path``, replacing it atomically; text
    that looks like a formula is stored as text. The columns are a DataFrame's, or those of the dicts
    in order of first appearance."""
    path = Path(path)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, content in sheets.items():
        ws = wb.create_sheet(name)
        records = content.to_dict("records") if isinstance(content, pd.DataFrame) else list(content)
        columns: list[str] = []
        for record in records:
            columns.extend(c for c in record if c not in columns)
        if isinstance(content, pd.DataFrame):
            columns = [str(c) for c in content.columns]
        ws.append(columns)
        for record in records:
            ws.append([_plain(record.get(c)) for c in columns])
    return save_atomically(wb, path)


def _plain(value: Any) -> Any:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value
