"""Tables as CSV and XLSX downloads (docs/INTERCHANGE.md "Tables").

Both formats put the column labels on the first row and the rows under them. The
XLSX file's title and notes are in its properties and on a second sheet, "About".
Decimals are numbers with the places shown on the page; a count under the threshold
is the text "<5" (the threshold in force) and a value withheld so that one cannot be
worked out is the text "hidden", the same in both formats.
"""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font

from impactmodel import sheets
from impactmodel.scoring.present import Shown, Table, is_hidden

SUPPRESSION_NOTE = ("A count of people under the small-number threshold is written as the text '<5' "
                    "(the threshold in force), and a value withheld so that such a count cannot be worked "
                    "out as the text 'hidden'; every other number is a number.")


def _cell(value):
    """A cell for CSV: decimals with their places as shown, p-values unrounded."""
    # Plain text and numbers first: a download of thousands of rows asks this of every cell.
    if value is None:
        return ""
    if isinstance(value, (str, int, float)):
        return value
    if isinstance(value, Shown):
        return value.text if value.digits is not None else repr(value.value)
    return str(value) if is_hidden(value) else value


def _xlsx_cell(value):
    if isinstance(value, Shown):
        return value.value
    return _cell(value)


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = sheets.csv_writer(out)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def to_xlsx(table: Table) -> bytes:
    wb = Workbook()
    wb.properties.title = table.title
    wb.properties.description = " ".join(filter(None, [table.note, SUPPRESSION_NOTE]))
    ws = wb.active
    ws.title = table.name[:31]
    sheets.append_row(ws, table.columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for row in table.rows:
        sheets.append_row(ws, [_xlsx_cell(v) for v in row])
        for cell, v in zip(ws[ws.max_row], row):
            if isinstance(v, Shown) and v.digits is not None:
                cell.number_format = "0." + "0" * v.digits if v.digits else "0"
    for i, col in enumerate(table.columns, 1):
        width = max([len(str(col))] + [len(str(_cell(r[i - 1]))) for r in table.rows]) + 2
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(width, 60)
    about = wb.create_sheet("About")
    for label, text in (("Table", table.title), ("Notes", table.note), ("Suppression", SUPPRESSION_NOTE)):
        if text:
            sheets.append_row(about, [label, text])
    about.column_dimensions["A"].width = 14
    about.column_dimensions["B"].width = 100
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
