"""Validation problems: what is wrong, and exactly where in the workbook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the workbook, located by sheet, Excel row and column.

    ``row`` is the 1-based Excel row number (the header is row 1); ``row`` and
    ``column`` are None when the problem concerns a whole sheet or column.
    """

    sheet: str
    row: int | None
    column: str | None
    message: str
    value: Any = None

    def location(self) -> str:
        """``Lanes row 14, column destination`` (as much of it as is known)."""
        text = self.sheet if self.row is None else f"{self.sheet} row {self.row}"
        return text if self.column is None else f"{text}, column {self.column}"

    def __str__(self) -> str:
        return f"{self.location()}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        value = self.value
        if value is not None and not isinstance(value, (str, int, float, bool)):
            value = str(value)
        return {"sheet": self.sheet, "row": self.row, "column": self.column,
                "message": self.message, "value": value}


class WorkbookError(Exception):
    """The workbook cannot be used; ``problems`` lists every problem found, not only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the workbook:\n{lines}")


def describe(value: Any) -> str:
    """Render a cell value for a message: text quoted, numbers as written."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
