"""`impactmodel import indicators` / `export indicators`: rates, all-or-nothing, replacement, round trip."""
from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from impactmodel.audit import AuditEvent
from impactmodel.auth.models import Role
from impactmodel.consortium.models import Authority, Round
from impactmodel.indicators import services, vocabulary
from impactmodel.indicators.models import IndicatorValue
from impactmodel.interchange.csvio import ImportRejected
from tests.conftest import ENGINES

HEADER = "authority,indicator,period,key_group,value,numerator,denominator\n"


def _invoke(runner, tmp_path, text: str, *args):
    path = tmp_path / "indicators.csv"
    path.write_text(text, encoding="utf-8")
    return runner.invoke(args=["import", "indicators", str(path), "--round", "Round 1", *args])


def _figures(session) -> list[tuple]:
    session.expire_all()
    return sorted(session.execute(sa.select(Authority.name, IndicatorValue.indicator, IndicatorValue.period,
                                            IndicatorValue.key_group_id.is_not(None), IndicatorValue.value,
                                            IndicatorValue.numerator, IndicatorValue.denominator,
                                            IndicatorValue.rate_per_10000)
                                  .join(Authority, Authority.id == IndicatorValue.authority_id)).all())


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_counts_give_the_rate_per_10000_exactly(runner, session, tmp_path):
    numerator, denominator = 137, 23_411
    text = HEADER + (f"Northshire,looked_after,2007-08,,,{numerator},{denominator}\n"
                     f"Northshire,ks3_persistent_absence,2007-08,ks3_absence,,{numerator},{denominator}\n"
                     "Northshire,emotional_wellbeing,2007-08,,,3517.5,1000\n"
                     "Northshire,cp_plans,2007-08,,31.25,,\n"
                     "Northshire,ks3_fixed_exclusions,2007-08,,4.5,,\n")
    result = _invoke(runner, tmp_path, text)
    assert result.exit_code == 0, result.output
    assert "Imported 5 figures into 'Round 1', with the new round 'Round 1' and 1 new authority" in result.output
    rows = {(r[1], r[3]): r for r in _figures(session)}
    rate = 10000 * numerator / denominator
    # A rate per 10,000: the figure is the rate itself; a percentage: 100 x n / d, the rate 10,000 x n / d.
    assert rows["looked_after", False][4:] == (rate, numerator, denominator, rate)
    assert rows["ks3_persistent_absence", True][4:] == (100 * numerator / denominator, numerator, denominator, rate)
    # A survey score is not counted per child: no rate.
    assert rows["emotional_wellbeing", False][4:] == (3.5175, 3517.5, 1000, None)
    # A value alone: kept as given; the rate converted from the indicator's unit.
    assert rows["cp_plans", False][4:] == (31.25, None, None, 31.25)
    assert rows["ks3_fixed_exclusions", False][4:] == (4.5, None, None, 450.0)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_one_bad_row_imports_nothing_and_names_line_column_problem(runner, session, tmp_path):
    good = "Northshire,looked_after,2007-08,,55,,\n"
    cases = [
        ("Northshire,no_such,2007-08,,1,,\n", "line 3, column 'indicator': unknown indicator 'no_such'"),
        ("Northshire,cp_plans,2007-08,,,5,0\n", "line 3, column 'denominator': must be more than 0"),
        ("Northshire,cp_plans,2007-08,,,5,\n", "line 3, column 'denominator': is empty"),
        ("Northshire,cp_plans,2007-08,,,,\n", "line 3, column 'value': is empty"),
        ("Northshire,cp_plans,2007-08,,1;2,,\n", "line 3, column 'value': '1;2' is not a number"),
        ("Northshire,cp_plans,2007-08,,nan,,\n", "line 3, column 'value': 'nan' is not a finite number"),
        ("Northshire,ks3_persistent_absence,2007-08,,120,,\n", "line 3, column 'value': ks3_persistent_absence: "
                                                              "120 is above 100"),
        ("Northshire,cp_plans,2007-08,martians,3,,\n", "line 3, column 'key_group': unknown key group 'martians'"),
        ("Northshire,cp_plans,2007-08,,99,1,100\n", "line 3, column 'value': 99 is not 10000 × numerator"),
        ("Northshire,looked_after,2007-08,,56,,\n", "line 3: line 2 already gives looked_after"),
        (",cp_plans,2007-08,,1,,\n", "line 3, column 'authority': is empty"),
        ("Northshire,cp_plans," + "x" * 21 + ",,1,,\n", "line 3, column 'period': is longer than 20"),
    ]
    for bad, message in cases:
        result = _invoke(runner, tmp_path, HEADER + good + bad)
        assert result.exit_code != 0, bad
        assert message in result.output, (bad, result.output)
        assert _figures(session) == []
    missing = _invoke(runner, tmp_path, "authority,period,value\nNorthshire,2007-08,1\n")
    assert "line 1, column 'indicator': required column is missing" in missing.output
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(Round)) == 0


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_reimport_replaces_the_same_figure_only(runner, session, tmp_path):
    first = HEADER + ("Northshire,looked_after,2007-08,,,100,20000\n"
                      "Northshire,looked_after,2007-08,lac,12,,\n"
                      "Northshire,looked_after,2008-09,,51,,\n")
    assert _invoke(runner, tmp_path, first).exit_code == 0
    again = HEADER + "northshire ,looked_after,2007-08,,,120,20000\n"
    checked = _invoke(runner, tmp_path, again, "--check")
    assert "would replace a figure stored before" in checked.output
    result = _invoke(runner, tmp_path, again)
    assert result.exit_code == 0 and "1 replaced a figure stored before" in result.output
    rows = _figures(session)
    assert [(r[2], r[3], r[4]) for r in rows] == [("2007-08", False, 60.0), ("2007-08", True, 12.0),
                                                  ("2008-09", False, 51.0)]
    assert session.scalar(sa.select(AuditEvent.details).where(AuditEvent.action == "import.indicators")
                          .order_by(AuditEvent.id.desc()).limit(1)) == {"rows": 1, "replaced": 1}


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_export_round_trips(runner, session, tmp_path, app):
    text = HEADER + ("Northshire,looked_after,2007-08,,,137,23411\n"
                     "Northshire,ks3_permanent_exclusions,2007-08,ks3_absence,,3,7\n"
                     "Southby,emotional_wellbeing,2008-09,,3.14159,,\n"
                     "Southby,initial_assessments_on_time,2008-09,,,61,83\n")
    assert _invoke(runner, tmp_path, text).exit_code == 0
    exported = runner.invoke(args=["export", "indicators", "--round", "Round 1"])
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert list(rows[0]) == services.EXPORT_COLUMNS
    by_indicator = {r["indicator"]: r for r in rows}
    assert by_indicator["looked_after"]["rate_per_10000"] == repr(10000 * 137 / 23411)
    assert by_indicator["initial_assessments_on_time"]["rate_per_10000"] == ""   # not counted per child
    before = _figures(session)
    # Into an empty database (drop the figures, the round and authorities), then export again.
    session.execute(sa.delete(IndicatorValue))
    session.execute(sa.delete(Round))
    session.execute(sa.delete(Authority))
    session.commit()
    assert _invoke(runner, tmp_path, exported.stdout).exit_code == 0
    assert _figures(session) == before
    assert runner.invoke(args=["export", "indicators", "--round", "Round 1"]).stdout == exported.stdout
    missing = runner.invoke(args=["export", "indicators", "--round", "Nope"])
    assert missing.exit_code != 0 and "no round called 'Nope'" in missing.output


def test_researcher_imports_only_assigned_authorities_into_existing_rounds(session, make_round, make_authority,
                                                                           make_user):
    rnd = make_round("Round 1")
    mine, other = make_authority("Mine", round=rnd), make_authority("Theirs", round=rnd)
    researcher = make_user(Role.RESEARCHER, assigned=[mine])
    text = HEADER + "Theirs,looked_after,2007-08,,50,,\nMine,looked_after,2007-08,,50,,\n"
    with pytest.raises(ImportRejected) as refused:
        services.import_indicators(session, io.StringIO(text), "Round 1", actor=researcher)
    assert str(refused.value.problems[0]) == ("line 2, column 'authority': you are not assigned to 'Theirs'; "
                                              "you can import rows of Mine")
    with pytest.raises(ImportRejected) as new_round:
        services.import_indicators(session, io.StringIO(HEADER + "Mine,cp_plans,2007,,1,,\n"), "Round 9",
                                   actor=researcher)
    assert "only an administrator can create a round" in str(new_round.value)
    result = services.import_indicators(session, io.StringIO(HEADER + "Mine,cp_plans,2007,,1,,\n"), "Round 1",
                                        actor=researcher)
    assert result.rows == 1 and not result.new_authorities
    assert session.scalar(sa.select(sa.func.count()).select_from(IndicatorValue)
                          .where(IndicatorValue.authority_id == other.id)) == 0


def test_web_import_page_takes_indicators(client, auth, session, make_round, make_authority):
    rnd = make_round("Round 1")
    make_authority("Northshire", round=rnd)
    auth.login(Role.ADMIN)
    response = client.post("/import", data={
        "kind": "indicators", "round_choice": "Round 1", "action": "import",
        "file": (io.BytesIO((HEADER + "Northshire,caf_started,2007-08,,,40,20000\n").encode()), "f.csv")})
    assert response.status_code == 302
    assert [r[4] for r in _figures(session)] == [20.0]
    bad = client.post("/import", data={
        "kind": "indicators", "round_choice": "Round 1", "action": "import",
        "file": (io.BytesIO((HEADER + "Northshire,caf_started,2007-08,,,40,-1\n").encode()), "f.csv")})
    assert bad.status_code == 422 and "must be more than 0" in bad.get_data(as_text=True)


def test_vocabulary_holds_the_required_indicators_and_refuses_broken_files():
    voc = vocabulary.load()
    assert {"looked_after", "cp_plans", "referrals", "initial_assessments", "caf_started",
            "ks3_persistent_absence", "ks3_fixed_exclusions", "ks3_permanent_exclusions",
            "emotional_wellbeing"} <= set(voc.indicators)
    units = "units:\n  - {id: pct, label: percentage, scale: 100}\n"
    with pytest.raises(vocabulary.VocabularyError, match="unknown unit 'rate'"):
        vocabulary.parse(units + "indicators:\n  - {id: a, label: A, unit: rate, rise_is_good: true, "
                                 "per_child: true}\n")
    with pytest.raises(vocabulary.VocabularyError, match="defined twice"):
        vocabulary.parse(units + "indicators:\n" + "  - {id: a, label: A, unit: pct, rise_is_good: null, "
                                                   "per_child: false}\n" * 2)
    with pytest.raises(vocabulary.VocabularyError, match="needs per_child"):
        vocabulary.parse(units + "indicators:\n  - {id: a, label: A, unit: pct, rise_is_good: true}\n")
