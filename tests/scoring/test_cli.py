"""`impactmodel score`: the JSON other tools read, stored rows, replacement, errors."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from impactmodel.audit import AuditEvent
from impactmodel.scoring.models import ConfidenceScore, RoundScoring
from tests.conftest import ENGINES
from tests.scoring.helpers import figure_csvs, import_round


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_score_json_shape(runner, session):
    coded, levels = figure_csvs()
    rnd = import_round(session, "Round 1", coded, levels)
    result = runner.invoke(args=["score", "--round", "Round 1", "--json", "--seed", "5",
                                 "--replicates", "200"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, list) and len(data) == 2
    assert [d["rank"] for d in data] == [1, 2]
    assert [d["authority"] for d in data] == ["Northam", "Southby"]   # the operator sees names
    for d in data:
        assert {"authority", "confidence", "ci_low", "ci_high", "rank", "components"} <= set(d)
        assert 0 <= d["ci_low"] <= d["confidence"] <= d["ci_high"] <= 1
        assert isinstance(d["rank"], int)
        assert set(d["components"]) == {"level_centre", "level_agreement", "impact_agreement",
                                        "feature_agreement", "shared_features", "feature_balance"}
        assert all(v is None or -1 <= v <= 1 for v in d["components"].values())
        assert d["n"] == {"dcs": 1, "manager": 3, "practitioner": 4}
    assert data[0]["confidence"] > data[1]["confidence"]

    stored = session.scalars(sa.select(ConfidenceScore).where(ConfidenceScore.round_id == rnd.id)
                             .order_by(ConfidenceScore.rank)).all()
    assert [(s.confidence, s.ci_low, s.rank) for s in stored] == \
        [(d["confidence"], d["ci_low"], d["rank"]) for d in data]
    # Same seed, same numbers; the round's rows are replaced, not added to.
    again = json.loads(runner.invoke(args=["score", "--round", "Round 1", "--json", "--seed", "5",
                                           "--replicates", "200"]).stdout)
    assert again == data
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(ConfidenceScore)) == 2
    assert session.scalar(sa.select(sa.func.count()).select_from(RoundScoring)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "scores.compute")) == 2


def test_score_table_output_and_unknown_round(runner, session):
    coded, levels = figure_csvs()
    import_round(session, "Round 1", coded, levels)
    result = runner.invoke(args=["score", "--round", "Round 1", "--replicates", "50"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "Northam" in lines[2] and "Southby" in lines[3]
    missing = runner.invoke(args=["score", "--round", "No such round"])
    assert missing.exit_code != 0 and "no round called 'No such round'" in missing.output
