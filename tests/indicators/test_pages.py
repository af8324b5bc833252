"""Indicator pages and `export table`: anonymised and suppressed for an analyst, named for an admin."""
from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from impactmodel.auth.models import Role
from impactmodel.consortium.models import Authority, Participation
from impactmodel.enums import EvidenceCategory
from impactmodel.indicators import services as indicators
from impactmodel.interchange.tables import FROM_THE_ROUND, TABLES
from impactmodel.scoring import services
from tests.conftest import ENGINES
from tests.statements import statements_of_page
from tests.scoring.helpers import figure_csvs, import_round

NAMES = ("Northam", "Southby")
HIDDEN_CELL = '<td class="num">&lt;5</td>'   # a suppressed figure in a table
FIGURES = ("authority,indicator,period,key_group,value,numerator,denominator\n"
           "Northam,looked_after,2007-08,,,110,20000\n"
           "Northam,looked_after,2008-09,,,96,20100\n"
           "Northam,looked_after,2008-09,lac,,3,40\n"        # 3 children: suppressed outside Northam
           "Southby,looked_after,2007-08,,,150,18000\n"
           "Southby,looked_after,2008-09,,,161,18050\n"
           "Southby,emotional_wellbeing,2008-09,,3.5,,\n")


@pytest.fixture
def round_with_figures(session):
    coded, levels = figure_csvs(NAMES)
    rnd = import_round(session, "Round 1", coded, levels)
    services.compute_scores(session, "test", rnd, seed=1, n_replicates=50)
    indicators.import_indicators(session, io.StringIO(FIGURES), "Round 1")
    authorities = {a.name: a for a in session.scalars(sa.select(Authority))}
    session.execute(sa.update(Participation).where(Participation.authority_id == authorities["Northam"].id)
                    .values(evidence=EvidenceCategory.ASCRIBED))
    session.commit()
    return rnd, authorities


def _pages(rnd, authorities):
    rid = rnd.id
    return ([f"/rounds/{rid}/indicators", f"/rounds/{rid}/indicators?indicator=emotional_wellbeing"]
            + [f"/rounds/{rid}/indicators/authorities/{a.public_id}" for a in authorities.values()]
            + [f"/rounds/{rid}/indicators/tables/{t}.{fmt}" for t in ("indicators", "indicator_distribution")
               for fmt in ("csv", "xlsx")])


def _text(response) -> str:
    if response.mimetype.endswith("spreadsheetml.sheet"):
        wb = load_workbook(io.BytesIO(response.data))
        return "\n".join(" ".join("" if v is None else str(v) for v in row)
                         for ws in wb for row in ws.iter_rows(values_only=True))
    return response.get_data(as_text=True)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_analyst_sees_labels_and_no_small_counts(client, auth, round_with_figures):
    rnd, authorities = round_with_figures
    auth.login(Role.ANALYST)
    for url in _pages(rnd, authorities):
        response = client.get(url)
        assert response.status_code == 200, url
        text = _text(response)
        assert not any(name in text for name in NAMES), url
        # Neither the small count, its rate (750 per 10,000), nor any population is shown.
        assert "750" not in text and "20000" not in text and "20,000" not in text, url
    page = client.get(f"/rounds/{rnd.id}/indicators").get_data(as_text=True)
    northam = authorities["Northam"]
    assert f"{northam.label}: 47.8 (2008-09), confidence" in page     # the scatter, latest period
    assert "<svg class=\"chart indicator-scatter\"" in page
    assert HIDDEN_CELL in page and "0 (1 left out)" in page
    profile = client.get(f"/rounds/{rnd.id}/indicators/authorities/{northam.public_id}").get_data(as_text=True)
    assert "Improvements ascribed to integrated services" in profile     # Box 6 beside the chart
    assert profile.count("<svg class=\"chart indicator-periods\"") == 1
    assert "style=" not in profile


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_admin_sees_names_counts_and_every_figure(client, auth, round_with_figures):
    rnd, authorities = round_with_figures
    auth.login(Role.ADMIN)
    northam = authorities["Northam"]
    page = client.get(f"/rounds/{rnd.id}/indicators/authorities/{northam.public_id}").get_data(as_text=True)
    assert "Northam: quantitative indicators" in page
    assert "750.0" in page and "20000" in page and HIDDEN_CELL not in page
    download = client.get(f"/rounds/{rnd.id}/indicators/tables/indicators.csv")
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert rows[0][-2:] == ["Numerator", "Denominator"]
    assert ["Looked-after children", "rate per 10,000 children", "2008-09", "Looked-after children", "Northam",
            "750.0", "750.0", "3", "40"] in rows
    profile = client.get(f"/rounds/{rnd.id}/scores/authorities/{northam.public_id}").get_data(as_text=True)
    assert f"/rounds/{rnd.id}/indicators/authorities/{northam.public_id}" in profile


def test_contact_sees_own_authority_counts_only(client, auth, round_with_figures):
    rnd, authorities = round_with_figures
    auth.login(Role.AUTHORITY_CONTACT, authority=authorities["Southby"])
    own = client.get(f"/rounds/{rnd.id}/indicators/authorities/{authorities['Southby'].public_id}")
    assert "Southby" in own.get_data(as_text=True) and "18000" in own.get_data(as_text=True)
    other = client.get(f"/rounds/{rnd.id}/indicators/authorities/{authorities['Northam'].public_id}")
    assert "Northam" not in other.get_data(as_text=True) and HIDDEN_CELL in other.get_data(as_text=True)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_export_table_lists_and_writes_every_table_as_an_analyst(runner, round_with_figures, make_round):
    listed = runner.invoke(args=["export", "table", "--list"])
    assert listed.exit_code == 0
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert names == list(TABLES)
    assert {"continuum", "impacts", "embedding", "progress", "table1", "table2", "gaps", "change",
            "indicators"} <= set(names)
    make_round("Round 2")     # not scored, no figures
    for name in names:
        for round_name in ("Round 1", "Round 2"):
            result = runner.invoke(args=["export", "table", name, "--round", round_name])
            assert result.exit_code == 0, (name, round_name, result.output)
            assert not any(n in result.stdout for n in NAMES), name
            header = next(csv.reader(io.StringIO(result.stdout)))
            assert header and header[0], name
        xlsx = runner.invoke(args=["export", "table", name, "--round", "Round 2", "--format", "xlsx"])
        assert xlsx.exit_code == 0, name
        book = load_workbook(io.BytesIO(xlsx.stdout_bytes))
        if name not in FROM_THE_ROUND:
            # The header is on row 1; the note is in the properties and on the About sheet.
            assert "has not been scored yet" in book.properties.description, name
            assert any("has not been scored yet" in str(c.value or "") for row in book["About"].iter_rows()
                       for c in row), name
    continuum = runner.invoke(args=["export", "table", "continuum", "--round", "Round 1"]).stdout
    assert "Authority " in continuum
    figures = runner.invoke(args=["export", "table", "indicators", "--round", "Round 1"]).stdout
    assert "<5" in figures and "750" not in figures and "Numerator" not in figures
    unknown = runner.invoke(args=["export", "table", "nonsense", "--round", "Round 1"])
    assert unknown.exit_code != 0 and "use one of continuum" in unknown.output
    assert runner.invoke(args=["export", "table", "gaps", "--round", "No round"]).exit_code != 0


# Four authorities' persistent absence: Devon's rests on 4 pupils, so an analyst does not see it.
SPREAD = ("authority,indicator,period,key_group,value,numerator,denominator\n"
          "Avon,ks3_persistent_absence,2008-09,,10,,\n"
          "Brent,ks3_persistent_absence,2008-09,,40,,\n"
          "Cumbria,ks3_persistent_absence,2008-09,,20,,\n"
          "Devon,ks3_persistent_absence,2008-09,,,1,4\n")


def _distribution(client, rnd) -> list[list[str]]:
    download = client.get(f"/rounds/{rnd.id}/indicators/tables/indicator_distribution.csv")
    assert download.status_code == 200
    return list(csv.reader(io.StringIO(download.get_data(as_text=True))))[1:]


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_distribution_is_over_the_figures_shown(client, auth, session, make_round):
    rnd = make_round("Round 1")
    indicators.import_indicators(session, io.StringIO(SPREAD), "Round 1")
    absence = ["Persistent absence at key stage 3", "percentage of pupils", "2008-09", "All children"]
    auth.login(Role.ANALYST)
    # The middle of three shown figures; Devon's is left out of every figure, not only counted apart.
    assert _distribution(client, rnd) == [absence + ["3 (1 left out)", "10.0", "20.0", "40.0", "a fall is good"]]
    auth.logout()
    auth.login(Role.ADMIN)
    # The mean of the two middle figures of four (20 and 25).
    assert _distribution(client, rnd) == [absence + ["4", "10.0", "22.5", "40.0", "a fall is good"]]


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_consortium_page_shows_authorities_a_page_at_a_time(app, client, auth, session, make_round):
    rnd = make_round("Round 1")

    def add(names):
        rows = "".join(f"{n},emotional_wellbeing,2008-09,{i % 7 + 1}\n" for i, n in enumerate(names))
        indicators.import_indicators(session, io.StringIO("authority,indicator,period,value\n" + rows), "Round 1")

    def page(n=None):
        return statements_of_page(app, client, f"/rounds/{rnd.id}/indicators" + (f"?indicator=emotional_wellbeing&page={n}" if n else ""))

    add([f"Place {i:02d}" for i in range(3)])
    auth.login(Role.ADMIN)
    few, _ = page()
    add([f"Place {i:02d}" for i in range(3, 30)])
    many, first = page()
    assert many == few      # the authorities are read at once, the figures of a page at once
    table = first[first.index("By authority:"):]
    assert "Place 00" in table and "Place 24" in table and ">Place 25</td>" not in table
    assert "authorities 1–25 of 30" in first and "page=2" in first
    _, second = page(2)
    table = second[second.index("By authority:"):]
    assert ">Place 25</td>" in table and ">Place 29</td>" in table and ">Place 24</td>" not in table
    # Every figure of every authority is in the download.
    download = client.get(f"/rounds/{rnd.id}/indicators/tables/indicators.csv").get_data(as_text=True)
    assert all(f"Place {i:02d}" in download for i in range(30))
    # A page past the last shows the last; a page that is not a number, the first.
    assert ">Place 29</td>" in page(99)[1] and ">Place 00</td>" in page("x")[1]
