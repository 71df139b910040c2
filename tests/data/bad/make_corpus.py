"""Regenerate the corpus of hand-made bad files in this folder, and expected.json.

    pip install openpyxl xlwt msoffcrypto-tool odfpy     # only to regenerate; tests use the files
    python tests/data/bad/make_corpus.py

Every file is small (< 20 KB) and is what a colleague, an ERP export or an attacker might hand
over instead of a sourcing workbook. expected.json maps each file to the command that reads
it, the exit code, a fragment of the message and, for cell-level problems, the sheet, row and
column the message must name. tests/test_hostile.py::test_bad_corpus iterates over it.
The script needs none of the project's code, so it runs with any Python that has openpyxl.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
import zlib
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
EPOCH = (1980, 1, 1, 0, 0, 0)

#: A tiny valid workbook: Plant_SC needs 25 cells from Korea (unlimited) or the US (20 at most).
SHEETS = {
    "Sites": [["site", "country"], ["Cells_KR", "Korea"], ["Cells_US", "United States"],
              ["Plant_SC", "United States"]],
    "Items": [["item", "unit"], ["cells", "GWh"]],
    "Supply": [["site", "item", "capacity", "unit_cost"], ["Cells_KR", "cells", None, 70],
               ["Cells_US", "cells", 20, 90]],
    "Demand": [["site", "item", "quantity"], ["Plant_SC", "cells", 25]],
    "Lanes": [["origin", "destination", "unit_cost"], ["Cells_KR", "Plant_SC", 2], ["Cells_US", "Plant_SC", 1]],
}

#: SHEETS with the strategic sheets of contract v3: two periods (the second discounted), an option to add a line
#: at Cells_US (available a period after it is built), stock at Plant_SC, and two scenarios.
STRATEGIC = {
    **SHEETS,
    "Demand": [["site", "item", "period", "quantity"], ["Plant_SC", "cells", 2026, 25],
               ["Plant_SC", "cells", 2027, 30]],
    "Periods": [["period", "discount_factor"], [2026, 1], [2027, 0.93]],
    "Investments": [["option", "site", "item", "capacity", "capex", "unit_cost", "lead_time"],
                    ["US_line_2", "Cells_US", "cells", 10, 50, 60, 1]],
    "Inventory": [["site", "item", "holding_cost", "capacity", "final"], ["Plant_SC", "cells", 1, 10, None]],
    "Scenarios": [["scenario", "probability", "policy"], ["status_quo", 0.5, None], ["tight", 0.5, None]],
    "ScenarioChanges": [["scenario", "sheet", "column", "site", "option", "multiply"],
                        ["tight", "Supply", "capacity", "Cells_US", None, 0.5]],
}

EXPECTED: dict[str, dict] = {}


def expect(name: str, message: str, exit: int = 2, command: str = "validate", **where) -> None:
    EXPECTED[name] = {"command": command, "exit": exit, "message": message, **where}


def workbook(edit=None, sheets=SHEETS) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    if edit:
        edit(wb)
    return wb


def xlsx_bytes(wb: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return rezip(buffer.getvalue())


def rezip(data: bytes, patches: dict | None = None) -> bytes:
    """Copy a zip with fixed timestamps (of its entries, and the dates openpyxl writes into docProps/core.xml, so
    that regenerating gives the same bytes), applying {part: function(bytes) -> bytes} patches."""
    patches = patches or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>1980-01-01T00:00:00Z", content)
            if info.filename in patches:
                content = patches[info.filename](content)
            target.writestr(zipfile.ZipInfo(info.filename, EPOCH), content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def sheet_part(title: str) -> str:
    return f"xl/worksheets/sheet{list(SHEETS).index(title) + 1}.xml"


def replace_cell(coordinate: str, xml: str):
    """A patch replacing the whole <c r="coordinate" ...>...</c> element by ``xml``."""
    pattern = re.compile(rf'<c r="{coordinate}"[^>]*?(/>|>.*?</c>)'.encode())

    def patch(content: bytes) -> bytes:
        new, count = pattern.subn(xml.encode(), content, count=1)
        assert count == 1, coordinate
        return new

    return patch


def write(name: str, data: bytes) -> None:
    assert len(data) < 20_000, (name, len(data))
    (HERE / name).write_bytes(data)


def raw_zip(entries: list[tuple[str, bytes, int, int, int]], flag_bits: int = 0) -> bytes:
    """A zip from (name, stored payload, method, crc, declared uncompressed size) entries, written
    by hand so that sizes and methods can be anything."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, payload, method, crc, size in entries:
        offset = out.tell()
        encoded = name.encode()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flag_bits, method, 0, 0x21, crc, len(payload),
                              size, len(encoded), 0) + encoded + payload)
        central.write(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flag_bits, method, 0, 0x21, crc,
                                  len(payload), size, len(encoded), 0, 0, 0, 0, 0o600 << 16, offset) + encoded)
    directory = central.getvalue()
    start = out.tell()
    out.write(directory)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), start, 0))
    return out.getvalue()


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def valid_parts() -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes(workbook()))) as archive:
        return [(info.filename, archive.read(info.filename)) for info in archive.infolist()]


def main() -> None:
    for old in HERE.iterdir():
        if old.is_file() and old.name not in ("make_corpus.py", "README.md"):
            old.unlink()
    valid = xlsx_bytes(workbook())

    # ---------------------------------------------------------------- files that are not .xlsx
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Sites")
    for r, row in enumerate(SHEETS["Sites"]):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    buffer = io.BytesIO()
    book.save(buffer)
    write("legacy.xls", buffer.getvalue())
    expect("legacy.xls", "old Excel 97-2003 .xls workbook")
    write("legacy-renamed.xlsx", buffer.getvalue())
    expect("legacy-renamed.xlsx", "old Excel 97-2003 .xls workbook")

    import msoffcrypto.format.ooxml

    encrypted = io.BytesIO()
    msoffcrypto.format.ooxml.OOXMLFile(io.BytesIO(valid)).encrypt("secret", encrypted)
    write("password.xlsx", encrypted.getvalue())
    expect("password.xlsx", "password-protected (encrypted)")

    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    ods = OpenDocumentSpreadsheet()
    table = Table(name="Sites")
    for row in SHEETS["Sites"]:
        tr = TableRow()
        for value in row:
            cell = TableCell()
            cell.addElement(P(text=str(value)))
            tr.addElement(cell)
        table.addElement(tr)
    ods.spreadsheet.addElement(table)
    buffer = io.BytesIO()
    ods.write(buffer)
    write("sheet.ods", buffer.getvalue())
    expect("sheet.ods", "OpenDocument spreadsheet (.ods)")

    csv = "\n".join(",".join(str(v) for v in row) for row in SHEETS["Sites"]).encode()
    write("sites.csv", csv)
    expect("sites.csv", "text file (CSV or similar)")
    write("csv-renamed.xlsx", "\ufeffsite;country\nPlant_Zürich;Schweiz\n".encode())
    expect("csv-renamed.xlsx", "text file (CSV or similar)")
    write("html-export.xls", b"<html><body><table><tr><td>site</td><td>country</td></tr></table></body></html>\n")
    expect("html-export.xls", "HTML page")
    write("spreadsheet-2003.xml", b'<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:'
                                  b'spreadsheet"><Worksheet ss:Name="Sites"/></Workbook>\n')
    expect("spreadsheet-2003.xml", "Excel 2003 XML spreadsheet")
    write("report.pdf.xlsx", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    expect("report.pdf.xlsx", "PDF document")
    write("random-bytes.xlsx", bytes((i * 97 + 13) % 256 for i in range(2048)))
    expect("random-bytes.xlsx", "not a zip archive")
    write("empty.xlsx", b"")
    expect("empty.xlsx", "the file is empty (0 bytes)")
    folder = HERE / "folder.xlsx"
    folder.mkdir(exist_ok=True)
    (folder / "README").write_text("A folder named like a workbook (git keeps no empty folders).\n")
    expect("folder.xlsx", "is a folder, not an .xlsx workbook")

    # ---------------------------------------------------------------- broken or foreign zips
    write("truncated.xlsx", valid[: len(valid) * 2 // 3])
    expect("truncated.xlsx", "damaged or incomplete")
    corrupt = bytearray(valid)
    with zipfile.ZipFile(io.BytesIO(valid)) as archive:
        info = archive.getinfo(sheet_part("Supply"))
    data_start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(data_start + 20, data_start + 40):
        corrupt[i] ^= 0x5A
    write("corrupt.xlsx", bytes(corrupt))
    expect("corrupt.xlsx", "damaged")
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr(zipfile.ZipInfo("notes.txt", EPOCH), "not a workbook")
    write("not-a-workbook.xlsx", other.getvalue())
    expect("not-a-workbook.xlsx", "a zip archive of another kind")
    xlsb = io.BytesIO()
    with zipfile.ZipFile(xlsb, "w") as archive:
        archive.writestr(zipfile.ZipInfo("[Content_Types].xml", EPOCH), "<Types/>")
        archive.writestr(zipfile.ZipInfo("xl/workbook.bin", EPOCH), b"\x83\x01\x00")
    write("binary.xlsb", xlsb.getvalue())
    expect("binary.xlsb", "binary workbook (.xlsb)")

    parts = valid_parts()

    def entries(replace: dict[str, tuple[bytes, int, int, int]] | None = None, method=8):
        out = []
        for name, content in parts:
            if replace and name in replace:
                out.append((name, *replace[name]))
            else:
                payload = deflate(content) if method == 8 else content
                out.append((name, payload, method, zlib.crc32(content), len(content)))
        return out

    sheet = sheet_part("Supply")
    # Declared 3 GiB for one sheet (its real data is tiny): refused from the zip directory alone.
    write("zip-bomb-declared.xlsx", raw_zip(entries({sheet: (deflate(b"<x/>"), 8, zlib.crc32(b"<x/>"), 3 << 30)})))
    expect("zip-bomb-declared.xlsx", "would expand to 3,072 MB when unzipped, more than the limit of 512 MB")
    # Declares 4 KB but inflates to 12 MB: zipfile stops at the declared size, so nothing expands.
    zeros = b"\0" * (12 << 20)
    write("zip-bomb-understated.xlsx", raw_zip(entries({sheet: (deflate(zeros), 8, zlib.crc32(zeros), 4096)})))
    expect("zip-bomb-understated.xlsx", "damaged")
    bz2 = __import__("bz2").compress(b"<x/>")
    write("bzip2-part.xlsx", raw_zip(entries({sheet: (bz2, 12, zlib.crc32(b"<x/>"), 4)})))
    expect("bzip2-part.xlsx", "compression method 12")
    write("zip-encrypted.xlsx", raw_zip(entries(), flag_bits=1))
    expect("zip-encrypted.xlsx", "zip encryption")

    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                        for i in range(1, 10))
              + "]>")

    def with_doctype(doctype: str, entity: str):
        def patch(content: bytes) -> bytes:
            text = content.decode()
            body = text[text.index("?>") + 2:] if text.startswith("<?xml") else text
            return (doctype + body.replace("<t>site</t>", f"<t>{entity}</t>", 1)).encode()
        return patch

    bomb = with_doctype(laughs, "&lol9;")

    write("billion-laughs-sheet.xlsx", rezip(valid, {sheet_part("Sites"): bomb}))
    expect("billion-laughs-sheet.xlsx", "entity-expansion")
    write("billion-laughs-workbook.xlsx", rezip(valid, {"xl/workbook.xml": bomb}))
    expect("billion-laughs-workbook.xlsx", "entity-expansion")
    xxe = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY ext SYSTEM "file:///etc/passwd">]>'
    write("external-entity.xlsx", rezip(valid, {sheet_part("Sites"): with_doctype(xxe, "&ext;")}))
    expect("external-entity.xlsx", "declares entities or a DTD")

    # ---------------------------------------------------------------- cells a program got wrong
    def uncached(wb):
        wb["Supply"]["D3"] = "=70+20"
    write("uncached-formula.xlsx", xlsx_bytes(workbook(uncached)))
    expect("uncached-formula.xlsx", "cell D3 holds the formula =70+20 but no calculated value",
           sheet="Supply", row=3, column="unit_cost")
    write("excel-error.xlsx", rezip(valid, {sheet_part("Supply"): replace_cell(
        "C3", '<c r="C3" t="e"><f>20/0</f><v>#DIV/0!</v></c>')}))
    expect("excel-error.xlsx", "Excel error #DIV/0!", sheet="Supply", row=3, column="capacity")

    def date_overflow(wb):
        wb["Demand"]["C2"].number_format = "yyyy-mm-dd"
        wb["Demand"]["C2"] = 1e20
    write("date-overflow.xlsx", xlsx_bytes(workbook(date_overflow)))
    expect("date-overflow.xlsx", "number too large for its date format", sheet="Demand", row=2, column="quantity")
    write("damaged-number.xlsx", rezip(valid, {sheet_part("Supply"): replace_cell(
        "D2", '<c r="D2" t="n"><v>nan</v></c>')}))
    expect("damaged-number.xlsx", "stored value 'nan' cannot be read", sheet="Supply", row=2, column="unit_cost")
    write("bad-shared-string.xlsx", rezip(valid, {sheet_part("Lanes"): replace_cell(
        "B3", '<c r="B3" t="s"><v>9999</v></c>')}))
    expect("bad-shared-string.xlsx", "stored value '9999' cannot be read", sheet="Lanes", row=3,
           column="destination")

    write("broken-xml.xlsx", rezip(valid, {sheet_part("Lanes"): lambda c: c.replace(
        b'<row r="3"', b'<row r="3"><oops', 1)}))
    expect("broken-xml.xlsx", "it is damaged: sheet 'Lanes', row 3: the sheet's XML is damaged from here on")
    write("row-beyond-excel.xlsx", rezip(valid, {sheet_part("Lanes"): lambda c: c.replace(
        b"</sheetData>", b'<row r="999999999"><c r="A999999999" t="inlineStr"><is><t>x</t></is></c></row>'
                         b"</sheetData>")}))
    expect("row-beyond-excel.xlsx", "row numbers beyond Excel's last row (1,048,576)")

    # ---------------------------------------------------------------- layout problems
    def duplicate_sheet(wb):
        wb.create_sheet("supply ").append(["site", "item", "unit_cost"])
    write("duplicate-sheets.xlsx", xlsx_bytes(workbook(duplicate_sheet)))
    expect("duplicate-sheets.xlsx", "two sheets are called 'Supply' and 'supply '", sheet="Supply")

    def merged(wb):
        wb["Demand"].merge_cells("A1:B1")
    write("merged-header.xlsx", xlsx_bytes(workbook(merged)))
    expect("merged-header.xlsx", "required column 'item' is missing", sheet="Demand", row=1, column="item")

    def duplicate_header(wb):
        wb["Lanes"]["C1"] = "origin"
    write("duplicate-header.xlsx", xlsx_bytes(workbook(duplicate_header)))
    expect("duplicate-header.xlsx", "column appears twice (columns A and C)", sheet="Lanes", row=1,
           column="origin")
    write("no-known-sheets.xlsx", xlsx_bytes(workbook(sheets={"Data": [["a", "b"], [1, 2]]})))
    expect("no-known-sheets.xlsx", "required sheet is missing", sheet="Sites")

    # ---------------------------------------------------------------- accepted, with a warning
    write("cached-formulas.xlsx", rezip(valid, {
        sheet_part("Supply"): lambda c: replace_cell("D2", '<c r="D2"><f>35*2</f><v>70</v></c>')(
            replace_cell("A3", '<c r="A3" t="str"><f>"Cells_"&amp;"US"</f><v>Cells_US</v></c>')(c))}))
    expect("cached-formulas.xlsx", "valid: 3 sites", exit=0)

    def hidden(wb):
        wb["Lanes"].sheet_state = "hidden"
    write("hidden-sheet.xlsx", xlsx_bytes(workbook(hidden)))
    expect("hidden-sheet.xlsx", "sheet 'Lanes' is hidden", exit=0)
    write("wrong-dimension.xlsx", rezip(valid, {sheet_part("Lanes"): lambda c: re.sub(
        rb'<dimension ref="[^"]*"', b'<dimension ref="A1"', c)}))
    expect("wrong-dimension.xlsx", "2 lanes", exit=0)

    def dangerous(wb):
        wb["Supply"]["D2"] = 1e-6
        wb["Supply"]["D3"] = 1e6
    write("numeric-range.xlsx", xlsx_bytes(workbook(dangerous)))
    expect("numeric-range.xlsx", "unit costs span more than 1e+09-fold, from Supply row 2 unit_cost 1e-06 to "
                                 "Supply row 3 unit_cost 1e+06", exit=0)

    strategic()

    (HERE / "expected.json").write_text(json.dumps(EXPECTED, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(EXPECTED)} cases to {HERE}")


def strategic() -> None:
    """The sheets of contract v3 (Periods, Investments, Inventory, Scenarios, ScenarioChanges): cells that cannot
    be meant, cells that are probably mistakes (valid, with a warning naming them), and a plan with stock that
    has no solution."""
    def edited(**cells):
        """STRATEGIC with cells ({"Sheet!A1": value}, given as Sheet__A1=value) changed."""
        def edit(wb):
            for where, value in cells.items():
                title, coordinate = where.split("__")
                wb[title][coordinate] = value
        return xlsx_bytes(workbook(edit, sheets=STRATEGIC))

    write("strategic-valid.xlsx", edited())
    expect("strategic-valid.xlsx", "valid: 3 sites, 1 item, 2 periods, 4 supply options, 2 demand entries, 2 lanes, "
                                   "1 investment option, 1 inventory row, 2 scenarios (given probabilities total 1)",
           exit=0)
    write("investment-unknown-site.xlsx", edited(Investments__B2="Cells_USA"))
    expect("investment-unknown-site.xlsx", "'Cells_USA' is not a site in Sites; did you mean 'Cells_US'?",
           sheet="Investments", row=2, column="site")
    write("investment-lead-time-fraction.xlsx", edited(Investments__G2=1.5))
    expect("investment-lead-time-fraction.xlsx", "1.5: expected a whole number of periods", sheet="Investments",
           row=2, column="lead_time")
    write("inventory-final-above-capacity.xlsx", edited(Inventory__E2=20))
    expect("inventory-final-above-capacity.xlsx", "20 is above the capacity 10", sheet="Inventory", row=2,
           column="final")
    write("discount-factor-typed-9.xlsx", edited(Periods__B3=9))
    expect("discount-factor-typed-9.xlsx", "9 is above 2; a discount factor is 1 / (1 + rate)^years",
           sheet="Periods", row=3, column="discount_factor")
    write("scenario-probabilities.xlsx", edited(Scenarios__B3=0.7))
    expect("scenario-probabilities.xlsx", "the probabilities add up to 1.2, not 1", sheet="Scenarios",
           column="probability")
    write("scenario-change-unknown-option.xlsx", edited(ScenarioChanges__B2="Investments",
                                                        ScenarioChanges__C2="capex", ScenarioChanges__D2=None,
                                                        ScenarioChanges__E2="US_line_3"))
    expect("scenario-change-unknown-option.xlsx", "'US_line_3' is not an option of Investments; did you mean "
                                                  "'US_line_2'?", sheet="ScenarioChanges", row=2, column="option")
    write("scenario-change-unknown-scenario.xlsx", edited(ScenarioChanges__A2="tigth"))
    expect("scenario-change-unknown-scenario.xlsx", "'tigth' is not a scenario of the Scenarios sheet; did you mean "
                                                    "'tight'?", sheet="ScenarioChanges", row=2, column="scenario")

    def tariff(wb):
        wb.create_sheet("Tariffs").append(["origin", "rate"])
        wb["Tariffs"].append(["Korea", 25])
    write("tariff-typed-25.xlsx", xlsx_bytes(workbook(tariff)))
    expect("tariff-typed-25.xlsx", "25 is a rate of 2,500%, above the 500% accepted; a rate is a fraction",
           sheet="Tariffs", row=2, column="rate")

    # valid, with a warning naming the cell
    write("lead-time-in-months.xlsx", edited(Investments__G2=12))
    expect("lead-time-in-months.xlsx", "Investments row 2, column lead_time: option 'US_line_2' cannot produce within "
                                       "the horizon", exit=0)
    write("capex-in-usd.xlsx", edited(Investments__E2=50_000_000))
    expect("capex-in-usd.xlsx", "Investments row 2, column capex: 50,000,000 is more than 1,000 times the cost",
           exit=0)

    def gap(wb):
        wb["Demand"]["C3"] = 2028
        wb["Periods"].append([2028, 0.86])
    write("demand-gap.xlsx", xlsx_bytes(workbook(gap, sheets=STRATEGIC)))
    expect("demand-gap.xlsx", "Demand: Plant_SC has no cells demand in 2027, between its first (2026) and last "
                              "(2028) period with demand", exit=0)

    # no plan: Cells_KR sells nothing; Cells_US makes 20 a period, its second line 10 from 2027 if built in 2026,
    # and Plant_SC stocks at most 10: at most 20 + 10 + 10 = 40 of the 45 needed in 2027 can reach it.
    write("strategic-infeasible.xlsx", edited(Supply__C2=0, Demand__D2=10, Demand__D3=45))
    expect("strategic-infeasible.xlsx", "Demand row 3 (Plant_SC, cells, 2027): 45 GWh required, at most 40 GWh",
           exit=1, command="solve")


if __name__ == "__main__":
    main()
