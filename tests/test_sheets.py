"""Spreadsheet-safe cells: CSV neutralising and restoring, XLSX string cells."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from impactmodel import sheets

# Text the app can hold: anything but NUL and unpaired surrogates (refused at input).
STORABLE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://evil.example\",\"Click me\")", "+1+1", "-2+3",
                                  "@SUM(A1:A2)", "\tinvisible", "\r=1+1", "'quoted", "''twice"])
def test_text_a_spreadsheet_would_run_gets_one_quote(text):
    assert sheets.neutralise(text) == "'" + text
    assert sheets.restore(sheets.neutralise(text)) == text


@pytest.mark.parametrize("value", ["plain words", "", " =spaced first", "-0.25", "-3", "-1.5e-05", 12, 2.5,
                                   None, "it's fine"])
def test_other_cells_are_written_as_they_are(value):
    assert sheets.neutralise(value) == value


def test_restore_leaves_a_quote_the_export_did_not_add():
    # Hand-made files: a quote before ordinary text is the text's own.
    assert sheets.restore("'Tis the season") == "'Tis the season"
    assert sheets.restore("'=1+1") == "=1+1"


@given(STORABLE)
def test_neutralised_text_restores_exactly(text):
    assert sheets.restore(sheets.neutralise(text)) == text


@given(st.lists(st.lists(STORABLE, min_size=1, max_size=4), min_size=1, max_size=4))
def test_csv_rows_come_back_exactly(rows):
    out = io.StringIO()
    sheets.csv_writer(out).writerows(rows)
    assert list(sheets.csv_rows(out.getvalue())) == rows


def test_a_lone_carriage_return_is_quoted():
    out = io.StringIO()
    sheets.csv_writer(out).writerow(["a\rb", "c\nd", "e"])
    assert out.getvalue() == '"a\rb","c\nd",e\r\n'


def test_xlsx_text_cells_are_strings_and_numbers_stay_numbers():
    wb = Workbook()
    when = datetime(2026, 12, 3, 9, 30)
    sheets.append_row(wb.active, ["=1+2", "@cmd", "-3", -3, 2.5, when, None, "tab\there", "bell\x07"])
    buf = io.BytesIO()
    wb.save(buf)
    cells = next(load_workbook(buf).active.iter_rows())
    assert [c.data_type for c in cells[:5]] == ["s", "s", "s", "n", "n"]
    assert [c.value for c in cells[:5]] == ["=1+2", "@cmd", "-3", -3, 2.5]
    assert cells[5].value == when and cells[5].is_date
    assert cells[7].value == "tab\there"
    # A control character XML cannot carry is written as the escape spreadsheets decode.
    assert cells[8].value == "bell_x0007_"


def test_streamed_rows_of_a_write_only_workbook_are_as_safe():
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sheet")
    when = datetime(2026, 12, 3, 9, 30)
    sheets.append_cells(ws, ["=1+2", "@cmd", "-3", -3, 2.5, when, None, "bell\x07"])
    buf = io.BytesIO()
    wb.save(buf)
    cells = next(load_workbook(buf).active.iter_rows())
    assert [c.data_type for c in cells[:5]] == ["s", "s", "s", "n", "n"]
    assert [c.value for c in cells[:5]] == ["=1+2", "@cmd", "-3", -3, 2.5]
    assert cells[5].value == when and cells[5].is_date
    assert cells[6].value is None and cells[7].value == "bell_x0007_"


def test_streamed_text_that_looks_like_an_error_value_stays_text():
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sheet")
    sheets.append_cells(ws, ["#N/A", "#DIV/0!", "=", "plain"])
    buf = io.BytesIO()
    wb.save(buf)
    cells = next(load_workbook(buf).active.iter_rows())
    assert [c.data_type for c in cells] == ["s"] * 4
    assert [c.value for c in cells] == ["#N/A", "#DIV/0!", "=", "plain"]
