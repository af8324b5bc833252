"""Every CSV and XLSX the app writes is safe to open, and its own CSV comes back exactly."""
from __future__ import annotations

import csv
import io
import itertools
import shutil
import subprocess

import pytest
import sqlalchemy as sa
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from impactmodel import codebook as codebook_mod
from impactmodel import sheets
from impactmodel.auth.models import Role
from impactmodel.codebook import exchange
from impactmodel.codebook.models import Coding
from impactmodel.consortium.models import Authority, Round
from impactmodel.interchange import csvio
from impactmodel.scoring import exports
from impactmodel.scoring import services as scoring
from impactmodel.scoring.exports import SUPPRESSION_NOTE
from impactmodel.scoring.present import WITHHELD, Suppressed, Table, dec
from tests.scoring.helpers import figure_csvs, import_round

EVIL = '=HYPERLINK("http://evil.example","Click me")'
STORABLE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
HEADER = ["authority", "respondent", "role", "code", "excerpt", "coder"]
_rounds = itertools.count()


def _coded_csv(*rows) -> str:
    out = io.StringIO()
    writer = sheets.csv_writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue()


def _export(session, round_name) -> str:
    out = io.StringIO()
    csvio.export_coded(session, round_name, out)
    return out.getvalue()


def _excerpts(session, round_name) -> list[str | None]:
    return list(session.scalars(sa.select(Coding.excerpt).join(Round, Coding.round_id == Round.id)
                                .where(Round.name == round_name).order_by(Coding.id)))


def _would_run(cell: str) -> bool:
    """Whether a spreadsheet opening the CSV would take ``cell`` as a formula."""
    return cell.startswith(sheets.FORMULA_STARTS) and not sheets.PLAIN_NUMBER.fullmatch(cell)


def _raw_cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(excerpt=STORABLE)
def test_any_text_survives_export_and_reimport(session, excerpt):
    first, second = f"Trip {next(_rounds)}", f"Trip {next(_rounds)}"
    csvio.import_coded(session, io.StringIO(_coded_csv(["North", "m1", "manager", "L1.tools", excerpt, "a"]),
                                            newline=""), first)
    exported = _export(session, first)
    assert not any(_would_run(c) for c in _raw_cells(exported))
    assert list(sheets.csv_rows(exported))[1][6] == excerpt
    csvio.import_coded(session, io.StringIO(exported, newline=""), second)
    assert [e or "" for e in _excerpts(session, second)] == [excerpt]


TRICKY = ["=1+1", "+44 20 7946 0000", "-fine, thanks", "@home", "\tindented", "\r=cmd|' /C calc'!A0",
          "'already quoted", "line one\rline two", "a\r\nb\nc", "  both ends  ", "emoji 😀 and עברית RTL", "-2"]


def test_formulas_are_neutralised_and_restored_in_every_column(session):
    rows = [[EVIL, f"+r{i}", "parent", "L3.cyp.happier", text, "@coder"] for i, text in enumerate(TRICKY)]
    csvio.import_coded(session, io.StringIO(_coded_csv(*rows), newline=""), "Hostile")
    assert session.scalar(sa.select(Authority.name)) == EVIL    # names are data too
    exported = _export(session, "Hostile")
    cells = _raw_cells(exported)
    assert not any(_would_run(c) for c in cells)
    assert "'" + EVIL in cells and "'+r0" in cells and "'@coder" in cells and "''already quoted" in cells
    assert "-2" in cells      # a plain number is written as it is
    csvio.import_coded(session, io.StringIO(exported, newline=""), "Hostile again")
    assert sorted(_excerpts(session, "Hostile again")) == sorted(TRICKY)
    assert _export(session, "Hostile again") == exported


def test_a_lone_carriage_return_round_trips_through_the_cli(session, runner, tmp_path):
    csvio.import_coded(session, io.StringIO(_coded_csv(["North", "m1", "manager", "L1.tools", "a\rb", "x"],
                                                       ["North", "m2", "manager", "L1.tools", "c", "x"]),
                                            newline=""), "CR")
    result = runner.invoke(args=["export", "coded", "--round", "CR"])
    assert result.exit_code == 0, result.output
    assert '"a\rb"' in result.output
    path = tmp_path / "coded.csv"
    path.write_bytes(result.output.encode())
    again = runner.invoke(args=["import", "coded", str(path), "--round", "CR again"])
    assert again.exit_code == 0, again.output
    assert _excerpts(session, "CR again") == ["a\rb", "c"]


@pytest.mark.skipif(not (shutil.which("soffice") or shutil.which("libreoffice")),
                    reason="LibreOffice is not installed on this machine")
def test_libreoffice_opens_the_coded_csv_without_formulas(session, tmp_path):
    rows = [[EVIL, f"r{i}", "parent", "L3.cyp.happier", text, "x"] for i, text in enumerate(TRICKY)]
    csvio.import_coded(session, io.StringIO(_coded_csv(*rows), newline=""), "Office")
    path = tmp_path / "coded.csv"
    path.write_text(_export(session, "Office"), encoding="utf-8", newline="")
    binary = shutil.which("soffice") or shutil.which("libreoffice")
    subprocess.run([binary, "--headless", "--infilter=CSV:44,34,76,1,,0,false,true,false,false,false,-1",
                    "--convert-to", "xlsx", "--outdir", str(tmp_path), str(path)],
                   check=True, capture_output=True, timeout=120)
    ws = load_workbook(tmp_path / "coded.xlsx").active
    assert not [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]


def test_codebook_csv_is_neutralised_and_reads_back():
    definition = yaml.safe_load(codebook_mod.CODEBOOK_PATH.read_text(encoding="utf-8"))
    definition["codes"][0]["description"] = '=WEBSERVICE("http://evil.example")'
    definition["codes"][1]["label"] = "-minus first"
    text = exchange.export_csv(codebook_mod.parse(yaml.safe_dump(definition)))
    assert not any(_would_run(c) for c in _raw_cells(text))
    codes = exchange.parse_csv(text)["codes"]
    assert codes[0]["description"] == '=WEBSERVICE("http://evil.example")'
    assert codes[1]["label"] == "-minus first"


def test_table_xlsx_has_its_header_on_row_1_and_no_formula_cells(client, auth, session):
    coded, levels = figure_csvs((EVIL, "Southby"))
    rnd = import_round(session, "Round 1", coded, levels)
    scoring.compute_scores(session, "test", rnd, seed=1, n_replicates=50)
    auth.login(Role.ADMIN)
    response = client.get(f"/rounds/{rnd.id}/scores/tables/continuum.xlsx")
    wb = load_workbook(io.BytesIO(response.data))
    ws = wb["continuum"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["Rank", "Authority", "Confidence"]
    cells = [c for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert EVIL in [c.value for c in cells]
    assert all(isinstance(c.value, float) for c in ws["C"][1:] if c.value is not None)   # numbers stay numbers
    assert wb.properties.title == "Integration confidence by authority"
    about = {r[0]: r[1] for r in wb["About"].iter_rows(values_only=True)}
    assert about["Table"] == wb.properties.title and about["Suppression"] == SUPPRESSION_NOTE
    table = client.get(f"/rounds/{rnd.id}/scores/tables/continuum.csv").get_data(as_text=True)
    assert not any(_would_run(c) for c in _raw_cells(table))
    assert list(sheets.csv_rows(table))[0] == header


def test_suppressed_counts_are_written_alike_in_csv_and_xlsx():
    table = Table("t", "A table", ["Group", "Count", "Mean"],
                  [["Managers", Suppressed(5), WITHHELD], ["Practitioners", 7, dec(0.5)]], note="A note.")
    rows = list(sheets.csv_rows(exports.to_csv(table)))
    assert rows == [["Group", "Count", "Mean"], ["Managers", "<5", "hidden"], ["Practitioners", "7", "0.50"]]
    ws = load_workbook(io.BytesIO(exports.to_xlsx(table)))["t"]
    assert [[c.value for c in row] for row in ws.iter_rows()] == [
        ["Group", "Count", "Mean"], ["Managers", "<5", "hidden"], ["Practitioners", 7, 0.5]]
