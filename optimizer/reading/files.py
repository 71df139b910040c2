"""File guards: whether an input file is an .xlsx workbook at all, and safe to open.

Everything here runs *before* openpyxl parses a byte of XML, and raises WorkbookError with one
problem naming the file:

* :func:`check_input_file` looks at what a file really is (its first bytes and, for a zip, its
  central directory) and refuses anything that is not an .xlsx workbook: an empty file, a folder,
  a legacy .xls or a password-protected workbook (both OLE2 compound files), a CSV/HTML/XML text
  file, an .ods or .xlsb, a truncated zip, and a zip bomb. A zip bomb is recognised from the sizes
  the zip directory *declares*, so nothing is expanded: the sum of the parts' uncompressed sizes
  must stay under SOURCING_MAX_UNZIPPED_MB (default 512) and no part over 1 MiB may compress better
  than SOURCING_MAX_ZIP_RATIO:1 (default 100; workbooks written by Excel or openpyxl stay under
  20:1). Declared sizes cannot be used to cheat: Python's zipfile never inflates a part beyond its
  declared size (it stops and reports a CRC error), and parts compressed with anything but deflate
  (bzip2, LZMA, whose decoders do not bound their output per call) are refused.
* :func:`check_xml_prologs` (called by it) reads every XML part's prolog up to its root element and
  refuses a DTD or entity declaration (which Excel never writes: the vehicle of "billion laughs"
  and external-entity attacks), whichever XML parser openpyxl would use.
* :func:`require_defused_xml` refuses to read anything unless openpyxl parses sheets through
  defusedxml (:func:`xml_is_defused`), which refuses entity declarations too: a second line of
  defence.
"""

from __future__ import annotations

import codecs
import os
import struct
import zipfile
import zlib
from pathlib import Path

import openpyxl.xml
from openpyxl.reader import strings
from openpyxl.worksheet import _reader

from models.problems import Problem, WorkbookError

#: Environment variables for the zip-bomb limits, and their defaults.
MAX_UNZIPPED_ENV, DEFAULT_MAX_UNZIPPED_MB = "SOURCING_MAX_UNZIPPED_MB", 512.0
MAX_RATIO_ENV, DEFAULT_MAX_RATIO = "SOURCING_MAX_ZIP_RATIO", 100.0
#: Parts smaller than this are never refused for their compression ratio.
RATIO_MIN_BYTES = 1 << 20
#: An .xlsx has a few dozen parts; a zip directory with more than this many is refused.
MAX_PARTS = 10_000
MAX_DIRECTORY_BYTES = 4 << 20

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_XLS_STREAMS = ("Workbook".encode("utf-16-le"), "Book\x00".encode("utf-16-le"))
_OLE_SCAN_BYTES = 64 << 20

UNREADABLE = "cannot be read as an Excel .xlsx workbook"
RESAVE = "open it in Excel (or LibreOffice) and save it as an Excel Workbook (.xlsx)"


def _refuse(path: Path, message: str) -> WorkbookError:
    return WorkbookError([Problem(path.name or str(path), None, None, message)])


def _limit(name: str, default: float, path: Path) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise _refuse(path, f"the environment variable {name}={text!r} must be a positive number")
    return value


def max_unzipped_bytes(path: Path = Path("workbook")) -> int:
    """The SOURCING_MAX_UNZIPPED_MB limit, in bytes."""
    return int(_limit(MAX_UNZIPPED_ENV, DEFAULT_MAX_UNZIPPED_MB, path) * (1 << 20))


def max_ratio(path: Path = Path("workbook")) -> float:
    """The SOURCING_MAX_ZIP_RATIO limit."""
    return _limit(MAX_RATIO_ENV, DEFAULT_MAX_RATIO, path)


def _mb(n: float) -> str:
    if n >= (1 << 20):
        return f"{n / (1 << 20):,.0f} MB"
    return f"{n / 1024:,.1f} KB" if n >= 1024 else f"{n:,.0f} bytes"


# --------------------------------------------------------------------------- what the file is


def _scan_for(path: Path, needles: tuple[bytes, ...], limit: int = _OLE_SCAN_BYTES) -> set[bytes]:
    """Which of ``needles`` occur in the first ``limit`` bytes (read in chunks)."""
    found: set[bytes] = set()
    overlap = max(len(n) for n in needles) - 1
    tail = b""
    with path.open("rb") as fh:
        read = 0
        while read < limit and len(found) < len(needles):
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            read += len(chunk)
            window = tail + chunk
            found.update(n for n in needles if n in window)
            tail = window[-overlap:]
    return found


def _describe_ole(path: Path) -> str:
    found = _scan_for(path, (_ENCRYPTED_PACKAGE, *_XLS_STREAMS))
    if _ENCRYPTED_PACKAGE in found:
        return (f"{UNREADABLE}: it is password-protected (encrypted). Open it in Excel, remove the "
                "password (File > Info > Protect Workbook > Encrypt with Password) and save it again")
    if found:
        return f"{UNREADABLE}: it is an old Excel 97-2003 .xls workbook; {RESAVE}"
    return (f"{UNREADABLE}: it is an old Office 97-2003 (OLE2) file, not an .xlsx workbook; {RESAVE}")


def _describe_text(head: bytes) -> str | None:
    """A message for a text file (CSV, HTML, XML), or None when ``head`` is not text."""
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-8", errors="ignore") if head[:1] == b"\xef" else \
            head.decode("utf-16", errors="ignore")
    else:
        if b"\x00" in head:
            return None
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
                try:
                    text = head.decode("cp1252")
                except UnicodeDecodeError:
                    return None
            else:
                text = head[: exc.start].decode("utf-8")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    if not text or printable < 0.95 * len(text):
        return None
    start = text.lstrip().lower()
    if start.startswith("<"):
        if "<html" in start or "<table" in start or "<!doctype html" in start:
            kind = "an HTML page (some systems export these with an .xls name)"
        elif "urn:schemas-microsoft-com:office:spreadsheet" in start:
            kind = "an Excel 2003 XML spreadsheet"
        else:
            kind = "an XML file"
        return f"{UNREADABLE}: it is {kind}, not an .xlsx workbook; {RESAVE}"
    return f"{UNREADABLE}: it is a text file (CSV or similar), not an .xlsx workbook; {RESAVE}"


def _end_of_directory(path: Path, size: int) -> tuple[int, int] | None:
    """(number of parts, size of the central directory) from the zip's end records, or None."""
    with path.open("rb") as fh:
        tail_size = min(size, 22 + 65535)
        fh.seek(size - tail_size)
        tail = fh.read(tail_size)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < 22:
            return None
        _sig, _d, _dcd, _n_disk, n_parts, cd_size, _cd_off, _c = struct.unpack("<4s4H2LH", tail[at:at + 22])
        if n_parts == 0xFFFF or cd_size == 0xFFFFFFFF:  # zip64: read the zip64 end record
            locator = tail[at - 20:at] if at >= 20 else b""
            if not locator.startswith(b"PK\x06\x07"):
                return None
            _sig, _disk, offset, _disks = struct.unpack("<4sLQL", locator)
            if offset + 56 > size:
                return None
            fh.seek(offset)
            record = fh.read(56)
            if not record.startswith(b"PK\x06\x06"):
                return None
            fields = struct.unpack("<4sQ2H2L4Q", record)
            n_parts, cd_size = fields[7], fields[8]
        return n_parts, cd_size


def _check_zip(path: Path, size: int) -> None:
    end = _end_of_directory(path, size)
    if end is None:
        raise _refuse(path, f"{UNREADABLE}: it is damaged or incomplete (the zip directory at its end is "
                            "missing; was the file cut short, e.g. by an interrupted download or copy?)")
    n_parts, directory_bytes = end
    if n_parts > MAX_PARTS or directory_bytes > MAX_DIRECTORY_BYTES:
        raise _refuse(path, f"refused: its zip directory lists {n_parts:,} parts ({_mb(directory_bytes)}); an "
                            f"Excel workbook has a few dozen (limit {MAX_PARTS:,}), so this may be a zip bomb")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            mimetype = b""
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 200:
                mimetype = archive.read("mimetype")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError, struct.error) as exc:
        raise _refuse(path, f"{UNREADABLE}: it is damaged ({exc})") from None

    limit, ratio = max_unzipped_bytes(path), max_ratio(path)
    total = sum(info.file_size for info in infos)
    if total > limit:
        raise _refuse(path, f"refused: it would expand to {_mb(total)} when unzipped, more than the limit of "
                            f"{_mb(limit)} (set {MAX_UNZIPPED_ENV} to raise it); this may be a zip bomb")
    for info in infos:
        if info.flag_bits & 0x1:
            raise _refuse(path, f"{UNREADABLE}: its parts are password-protected (zip encryption); save an "
                                "unprotected copy")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _refuse(path, f"refused: part {info.filename!r} uses zip compression method "
                                f"{info.compress_type}, which Excel never writes")
        factor = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_MIN_BYTES and factor > ratio:
            raise _refuse(path, f"refused: part {info.filename!r} would expand {factor:,.0f}-fold "
                                f"({_mb(info.compress_size)} to {_mb(info.file_size)}), more than the limit of "
                                f"{ratio:g}-fold ({MAX_RATIO_ENV}); this looks like a zip bomb")

    check_xml_prologs(path, infos)
    if b"opendocument.spreadsheet" in mimetype:
        raise _refuse(path, f"{UNREADABLE}: it is an OpenDocument spreadsheet (.ods); save it from LibreOffice "
                            "or Excel as an Excel Workbook (.xlsx)")
    if "xl/workbook.bin" in names:
        raise _refuse(path, f"{UNREADABLE}: it is an Excel binary workbook (.xlsb); {RESAVE}")
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        kind = ("a Word document" if "word/document.xml" in names else
                "a PowerPoint presentation" if "ppt/presentation.xml" in names else
                "an OpenDocument file" if mimetype else "a zip archive of another kind")
        raise _refuse(path, f"{UNREADABLE}: it is {kind}, not an Excel workbook")


#: Parts that are not XML (images, embedded binaries) and are never parsed as such.
_BINARY_SUFFIXES = (".bin", ".png", ".jpeg", ".jpg", ".gif", ".emf", ".wmf", ".tif", ".tiff", ".bmp", ".svg")
#: The prolog (what comes before the root element) of a part written by Excel is under 100 bytes.
MAX_PROLOG_CHARS = 64 << 10


def _prolog_declares(text: str) -> str | None:
    """What the XML prolog at the start of ``text`` holds: 'doctype' for a <!DOCTYPE ...> (or any
    markup declaration), 'unusual' when it is too long to tell, None once the root element starts,
    and '' when more text is needed to decide."""
    i, n = (1 if text.startswith("\ufeff") else 0), len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        rest = text[i:i + 4]
        if len(rest) < 4 and ("<!--".startswith(rest) or "<?".startswith(rest[:2])):
            return ""  # too little to tell a comment or instruction from a declaration
        if rest.startswith("<?"):
            end, skip = text.find("?>", i + 2), 2
        elif rest.startswith("<!--"):
            end, skip = text.find("-->", i + 4), 3
        elif rest.startswith("<!"):
            return "doctype"
        else:
            return None  # the root element (or not XML at all, which openpyxl reports)
        if end < 0:
            return "unusual" if n > MAX_PROLOG_CHARS else ""
        i = end + skip


def check_xml_prologs(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse any XML part whose prolog declares a DTD or entities. Excel never writes one, and
    refusing them here holds whichever XML parser openpyxl uses (defusedxml, or lxml when it is
    installed, which does not expand entities but does not refuse them either). Reads each part
    only up to its root element: a few hundred bytes."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in infos:
                if info.is_dir() or info.filename.lower().endswith(_BINARY_SUFFIXES):
                    continue
                with archive.open(info) as stream:
                    head = stream.read(4)
                    encoding = ("utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") or
                                head[:2] in (b"<\x00", b"\x00<") else "utf-8")
                    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
                    text = decoder.decode(head)
                    verdict = _prolog_declares(text)
                    while verdict == "":
                        chunk = stream.read(4096)
                        if not chunk:
                            verdict = None
                            break
                        text += decoder.decode(chunk)
                        verdict = _prolog_declares(text)
                if verdict:
                    what = "declares entities or a DTD" if verdict == "doctype" else "has an unusually long prolog"
                    raise _refuse(path, f"refused: its part {info.filename!r} {what}, which Excel never writes; "
                                        "this may be an entity-expansion (billion laughs) or external-entity attack")
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError, zlib.error):
        return  # damaged: openpyxl's read reports it, naming the part


def check_input_file(path: str | Path) -> None:
    """Raise WorkbookError (one problem naming the file) unless ``path`` looks like a safe .xlsx.

    Reads the first 4 KiB and, for a zip, its end records and central directory: never a
    part's content, so it takes milliseconds and constant memory whatever the file declares.
    """
    path = Path(path)
    if not path.exists():
        raise _refuse(path, f"file not found: {path}")
    if path.is_dir():
        raise _refuse(path, f"{path} is a folder, not an .xlsx workbook")
    if not path.is_file():
        raise _refuse(path, f"{path} is not a regular file (a device, pipe or socket), not an .xlsx workbook")
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise _refuse(path, f"{UNREADABLE}: {exc.strerror or exc}") from None
    if size == 0 or not head:
        raise _refuse(path, f"{UNREADABLE}: the file is empty (0 bytes)")
    if head.startswith(OLE_MAGIC):
        raise _refuse(path, _describe_ole(path))
    if head.startswith(ZIP_MAGICS):
        _check_zip(path, size)
        return
    if head.startswith(b"%PDF"):
        raise _refuse(path, f"{UNREADABLE}: it is a PDF document")
    message = _describe_text(head)
    raise _refuse(path, message or f"{UNREADABLE}: it is not a zip archive, so it cannot be an .xlsx workbook")


def xml_is_defused() -> bool:
    """True when openpyxl parses workbook XML with defusedxml (entity declarations refused)."""
    return bool(openpyxl.xml.DEFUSEDXML) and all(
        getattr(module.iterparse, "__module__", "").startswith("defusedxml") for module in (_reader, strings))


def require_defused_xml(path: str | Path) -> None:
    """Raise WorkbookError naming ``path`` unless openpyxl parses XML through defusedxml."""
    if not xml_is_defused():
        raise _refuse(Path(path), "refused: the XML parser is not protected against entity-expansion attacks "
                                  "(defusedxml is missing or OPENPYXL_DEFUSEDXML is not 'True'); reinstall "
                                  "the tool with its dependencies")
