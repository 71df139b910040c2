"""Output: every workbook the tool writes, through one formula guard and one atomic, deterministic save.

- ``guard``: the formula guard: text a spreadsheet could run as a formula is stored as text.
- ``stable_zip``: the deterministic zip: a workbook's bytes depend only on its content.
- ``save``: the output-path check and the atomic save (guard, deterministic zip, rename into place).
- ``table``: the streamed table writer: a DataFrame as a formatted Excel table in a write-only workbook.
- ``charts``: the chart helpers of the comparison and sweep layouts.
- ``plan``, ``comparison``, ``sweep``: the layouts of the three result workbooks, on the table writer.
- ``template``: the starter workbook, its sheets, headers and Notes derived from ``models.schema.SHEETS``.
- ``plain``: ``write_workbook``, plain input-style sheets from Python data (tests, scripts).
"""
