"""Where an output may go, and the one way every workbook is saved.

:func:`check_output_path` refuses, before any work is done, an output that is the input (also through a
link or another spelling), a folder, or in a folder that cannot be written. :func:`save_atomically` is
the only way the tool saves a workbook: the formula guard (``optimizer.writing.guard``), the deterministic
zip (``optimizer.writing.stable_zip``), then a temporary file in the target folder, flushed to disk and
renamed into place, so a failed run never leaves a half-written workbook.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from openpyxl import Workbook

from optimizer.writing.guard import neutralise_formulas
from optimizer.writing.stable_zip import write_stable_xlsx


class OutputError(Exception):
    """The output cannot be written where asked; nothing was changed."""


def check_output_path(output: str | Path, inputs: list[str | Path]) -> Path:
    """Refuse an output that is one of the inputs (also through links or another spelling)."""
    output = Path(output)
    if output.suffix.lower() != ".xlsx":
        raise OutputError(f"output {output} must be an .xlsx file")
    target = output.resolve()
    for given in inputs:
        source = Path(given)
        same = target == source.resolve()
        if not same and output.exists() and source.exists():
            same = os.path.samefile(output, source)
        if same:
            raise OutputError(f"output {output} is the input workbook; choose another file name")
    if not target.parent.is_dir():
        raise OutputError(f"folder {target.parent} does not exist")
    if target.is_dir():
        raise OutputError(f"output {output} is a folder; give a file name ending in .xlsx")
    if target.exists() and not target.is_file():
        raise OutputError(f"output {output} is not a regular file; choose another file name")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {output}: folder {target.parent} is not writable; nothing was changed")
    return output


def save_atomically(wb: Workbook, path: str | Path, formulas=()) -> Path:
    """Save to a temporary file in the target folder, then rename it into place.

    Before saving, text that a spreadsheet could run as a formula is made plain text (see
    ``optimizer.writing.guard.neutralise_formulas``; ``formulas`` lists (sheet, cell) pairs the tool
    writes as formulas on purpose). The bytes depend only on the content: no timestamps (see
    ``optimizer.writing.stable_zip.write_stable_xlsx``). The temporary file is flushed to disk before the
    rename, so the target is either the old file or the complete new one, never a mixture; on
    any failure the temporary file is removed and the target left as it was.
    """
    path = Path(path)
    neutralise_formulas(wb, formulas)
    tmp = None
    try:
        mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else _default_mode()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp.xlsx", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            write_stable_xlsx(wb, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        hint = " (is it open in Excel, or is the folder read-only?)" if isinstance(exc, PermissionError) else ""
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}{hint}; nothing was changed") from None
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    return path


def _default_mode() -> int:
    """Permissions of a new file under the current umask (mkstemp alone would give 0600)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask
