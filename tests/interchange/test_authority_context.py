"""``impactmodel import context`` and ``export context``: one row per authority taking part."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from impactmodel.audit import AuditEvent
from impactmodel.consortium.models import Participation
from tests.conftest import ENGINES


def _context(session, authority):
    part = session.scalar(sa.select(Participation).where(Participation.authority_id == authority.id))
    session.refresh(part)
    return part.authority_type, part.children, part.integrated_since


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_context_round_trips_and_a_bad_row_imports_nothing(runner, session, make_round, make_authority, tmp_path):
    rnd = make_round("Round 1")
    north = make_authority("Northshire County Council", round=rnd)
    grey = make_authority("Greyford Borough Council", round=rnd)
    make_authority("Elsewhere Council")          # not taking part
    good = tmp_path / "context.csv"
    good.write_text("authority,authority_type,children,integrated_since\n"
                    "northshire  county council,county,\"162,000\",2003\n"
                    "Greyford Borough Council,london_borough,,\n", encoding="utf-8")
    result = runner.invoke(args=["import", "context", str(good), "--round", "Round 1"])
    assert result.exit_code == 0, result.output
    assert "recorded the context of 2 authorities" in result.output
    assert _context(session, north) == ("county", 162000, 2003)
    assert _context(session, grey) == ("london_borough", None, None)
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "import.context")) == 1

    exported = runner.invoke(args=["export", "context", "--round", "Round 1"])
    assert exported.exit_code == 0
    assert exported.output.splitlines() == ["authority,authority_type,children,integrated_since",
                                            "Greyford Borough Council,london_borough,,",
                                            "Northshire County Council,county,162000,2003"]
    again = tmp_path / "again.csv"
    again.write_text(exported.output, encoding="utf-8")
    assert runner.invoke(args=["import", "context", str(again), "--round", "Round 1"]).exit_code == 0
    assert _context(session, north) == ("county", 162000, 2003)

    bad = tmp_path / "bad.csv"
    bad.write_text("authority,authority_type,children,integrated_since\n"
                   "Greyford Borough Council,unitary,50000,2004\n"          # fine on its own
                   "Northshire County Council,parish,lots,\n"
                   "Elsewhere Council,county,,\n"
                   "Greyford Borough Council,unitary,,\n"
                   "Nowhere,county,,\n", encoding="utf-8")
    refused = runner.invoke(args=["import", "context", str(bad), "--round", "Round 1"])
    assert refused.exit_code != 0
    out = refused.output
    assert "line 3: The type of authority must be one of" in out
    assert "line 4, column 'authority': 'Elsewhere Council' does not take part in Round 1" in out
    assert "line 5, column 'authority': line 2 already gives this authority's context" in out
    assert "line 6, column 'authority': 'Nowhere' does not take part" in out
    assert "line 3, column 'children': 'lots' is not a whole number" in out
    assert _context(session, grey) == ("london_borough", None, None)          # nothing imported
    check = runner.invoke(args=["import", "context", str(good), "--round", "Round 1", "--check"])
    assert check.exit_code == 0 and "would record" in check.output
    unknown = runner.invoke(args=["import", "context", str(good), "--round", "Round 9"])
    assert unknown.exit_code != 0 and "no round called 'Round 9': did you mean 'Round 1'?" in unknown.output
