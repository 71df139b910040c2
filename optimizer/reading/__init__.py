"""Input: a sourcing workbook file into the validated network (``load_workbook`` in ``load``).

One module per step, each imported by the ones after it:

- ``files``: whether the file is an .xlsx workbook at all and safe to open (what its bytes say it is,
  zip-bomb limits, XML prologs without DTD or entities, defusedxml in use). Nothing is parsed before.
- ``openpyxl_reader``: the reference reader: opens the workbook, reads a sheet's rows, locates a damaged cell.
- ``calamine_reader``: the fast reader: the cells of plain sheets by python-calamine, as openpyxl reads them.
- ``cells``: one sheet's rows of values into row models (header, Excel errors, formulas never calculated,
  validation), every problem located.
- ``load``: every sheet of a file (``read_rows``), then the network (``network_from_rows``: references,
  selectors, duplicates, numeric warnings); ``load_workbook`` is both.
"""
