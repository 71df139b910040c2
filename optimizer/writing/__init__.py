"""Output: every workbook the tool writes, through one formula guard and one atomic, deterministic save.

- ``guard``: the formula guard: text a spreadsheet could run as a formula is stored as text.
- ``stable_zip``: the deterministic zip: a workbook's bytes depend only on its content.
- ``save``: the output-path check and the atomic save (guard, deterministic zip, rename into place).
- ``table``: the streamed table writer: a DataFrame as a formatted Excel table in a write-only workbook;
  ``sheet_xml`` renders its rows as sheet XML.
- ``charts``: the native Excel charts of the layouts.
- ``plan`` (with ``overview``), ``comparison``, ``sweep``, ``frontier``, ``robust``: the layouts of the five result
  workbooks, on the table writer.
- ``template``: the starter workbook, its sheets, headers and Notes derived from ``models.schema.SHEETS``.
- ``plain``: ``write_workbook``, plain input-style sheets from Python data (tests, scripts).
"""
