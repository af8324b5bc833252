"""Indicator figures follow their authority when it is merged, and go when it leaves a round."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from impactmodel.consortium import admin
from impactmodel.indicators import services
from impactmodel.indicators.models import IndicatorValue
from tests.conftest import ENGINES

HEADER = "authority,indicator,period,key_group,value\n"


def _figures(session) -> list[tuple]:
    session.expire_all()
    return sorted(session.execute(sa.select(IndicatorValue.authority_id, IndicatorValue.indicator,
                                            IndicatorValue.period, IndicatorValue.value)).all())


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_merge_moves_figures_and_refuses_two_for_the_same_period(session, make_round, make_authority):
    rnd = make_round("Round 1")
    source, target = make_authority("Northam Council", round=rnd), make_authority("Northam", round=rnd)
    services.import_indicators(session, io.StringIO(HEADER + "Northam Council,cp_plans,2007-08,,30\n"
                                                             "Northam Council,cp_plans,2007-08,lac,80\n"
                                                             "Northam,cp_plans,2007-08,,31\n"), "Round 1")
    plan = admin.plan_merge(session, source, target)
    assert plan.counts["indicators"] == 2
    assert plan.clashes == ["Round 1: both have a figure for cp_plans in 2007-08"]
    with pytest.raises(admin.AuthorityError):
        admin.merge_authorities(session, "test", source, target)
    assert len(_figures(session)) == 3
    session.execute(sa.delete(IndicatorValue).where(IndicatorValue.authority_id == target.id))
    session.commit()
    admin.merge_authorities(session, "test", source, target)
    assert _figures(session) == [(target.id, "cp_plans", "2007-08", 30.0), (target.id, "cp_plans", "2007-08", 80.0)]


def test_removal_from_a_round_counts_and_deletes_its_figures(session, make_round, make_authority):
    rnd, later = make_round("Round 1"), make_round("Round 2")
    northam = make_authority("Northam", round=rnd)
    for name in ("Round 1", "Round 2"):
        services.import_indicators(session, io.StringIO(HEADER + "Northam,cp_plans,2007-08,,30\n"), name)
    plan = admin.plan_removal(session, rnd, northam)
    assert plan.counts["indicators"] == 1 and plan.has_data
    admin.remove_participation(session, "test", rnd, northam, confirmed=plan.confirmation)
    assert session.scalars(sa.select(IndicatorValue.round_id)).all() == [later.id]
