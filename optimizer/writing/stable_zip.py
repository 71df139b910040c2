"""The deterministic zip: a workbook's bytes depend only on its content, never on when it was written.

openpyxl stamps the document's created/modified properties with the current time and every zip part
with the time of writing; :func:`write_stable_xlsx` fixes both at FIXED_TIME, 1980-01-01 00:00 (the
zip format's earliest), and gives every part the same mode.
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


class StableZip(zipfile.ZipFile):
    """A ZipFile whose parts carry a fixed timestamp and mode, so equal content gives equal bytes."""

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
        info = self._stable_info(arcname or os.path.basename(filename), os.path.getsize(filename))
        with open(filename, "rb") as source, self.open(info, "w") as target:
            shutil.copyfileobj(source, target, 1 << 20)


def write_stable_xlsx(wb, handle) -> None:
    """Serialise ``wb`` into the binary file ``handle`` deterministically: the document's
    created/modified properties (docProps/core.xml, which openpyxl sets to the current time) and
    every zip part's date are the fixed FIXED_TIME, 1980-01-01 00:00 (the zip format's earliest)."""
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    archive = StableZip(handle, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    try:
        ExcelWriter(wb, archive).save()
    except BaseException:
        with contextlib.suppress(Exception):
            archive.close()
        raise
