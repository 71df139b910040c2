"""The deterministic zip: a workbook's bytes depend only on its content, never on when it was written.

openpyxl stamps the document's created/modified properties with the current time and every zip part
with the time of writing; :func:`write_stable_xlsx` fixes both at FIXED_TIME, 1980-01-01 00:00 (the
zip format's earliest), and gives every part the same mode. It also splices the rows a table writer
rendered as XML (``optimizer.writing.sheet_xml``) into their sheet's part as the part is zipped.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import zipfile

from openpyxl.writer.excel import ExcelWriter

#: Every part of a written workbook carries this zip timestamp (the zip format's earliest).
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FIXED_TIME = datetime.datetime(*ZIP_EPOCH)


#: Where a sheet's rendered rows go in its part: before the end of its sheetData.
SHEET_DATA_END = b"</sheetData>"


class StableZip(zipfile.ZipFile):
    """A ZipFile whose parts carry a fixed timestamp and mode, so equal content gives equal bytes.

    ``spliced`` maps a file written into the zip to a file of rows to splice into it: the part is the file
    up to its ``</sheetData>``, then the rows, then the rest (a write-only sheet's own stream holds its
    header row, the rows file every row below)."""

    def __init__(self, *args, spliced: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.spliced = spliced or {}

    def _stable_info(self, name: str, size: int = 0) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
        info.compress_type = self.compression
        info.external_attr = 0o600 << 16
        info.file_size = size
        return info

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._stable_info(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        rows = self.spliced.get(filename)
        size = os.path.getsize(filename) + (os.path.getsize(rows) if rows else 0)
        info = self._stable_info(arcname or os.path.basename(filename), size)
        with open(filename, "rb") as source, self.open(info, "w") as target:
            if rows is None:
                shutil.copyfileobj(source, target, 1 << 20)
                return
            head, end, tail = source.read().partition(SHEET_DATA_END)  # the header row and the sheet's tail
            if not end:
                raise ValueError(f"{arcname}: no sheetData to hold the rows")
            target.write(head)
            with open(rows, "rb") as body:
                shutil.copyfileobj(body, target, 1 << 20)
            target.write(end + tail)


def write_stable_xlsx(wb, handle) -> None:
    """Serialise ``wb`` into the binary file ``handle`` deterministically: the document's
    created/modified properties (docProps/core.xml, which openpyxl sets to the current time) and
    every zip part's date are the fixed FIXED_TIME, 1980-01-01 00:00 (the zip format's earliest). A streamed
    sheet's rendered rows (its ``rows_path``) are spliced into its part."""
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    spliced = {ws._writer.out: ws.rows_path for ws in wb.worksheets
               if getattr(ws, "rows_path", None) and getattr(ws, "_writer", None) is not None}
    archive = StableZip(handle, "w", zipfile.ZIP_DEFLATED, allowZip64=True, spliced=spliced)
    try:
        ExcelWriter(wb, archive).save()
    except BaseException:
        with contextlib.suppress(Exception):
            archive.close()
        raise
