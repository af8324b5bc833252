"""Tables as CSV and XLSX downloads."""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Font

from impactmodel.scoring.present import Shown, Table, is_hidden


def _cell(value):
    """A cell for CSV: decimals with their places as shown, p-values unrounded."""
    if is_hidden(value):
        return str(value)
    if isinstance(value, Shown):
        return value.text if value.digits is not None else repr(value.value)
    return "" if value is None else value


def _xlsx_cell(value):
    if isinstance(value, Shown):
        return value.value
    return _cell(value)


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def to_xlsx(table: Table) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = table.name[:31]
    ws.append([table.title])
    ws["A1"].font = Font(bold=True)
    if table.note:
        ws.append([table.note])
    ws.append([])
    ws.append(table.columns)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for row in table.rows:
        ws.append([_xlsx_cell(v) for v in row])
        for cell, v in zip(ws[ws.max_row], row):
            if isinstance(v, Shown) and v.digits is not None:
                cell.number_format = "0." + "0" * v.digits if v.digits else "0"
    for i, col in enumerate(table.columns, 1):
        width = max([len(str(col))] + [len(str(_cell(r[i - 1]))) for r in table.rows]) + 2
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(width, 60)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
