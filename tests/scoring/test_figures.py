"""The bar: an authority like the report's Figure 2 ranks above one like Figure 3."""
from __future__ import annotations

import pytest

from impactmodel.scoring import services
from tests.scoring.helpers import figure_csvs, import_round


@pytest.fixture
def figure_round(session):
    coded, levels = figure_csvs()
    return import_round(session, "Figures round", coded, levels)


def test_figure2_ranks_above_figure3_with_separate_intervals(app, session, figure_round):
    rows = services.compute_scores(session, "test", figure_round, seed=3)
    by_name = {r.authority.name: r for r in rows}
    confident, early = by_name["Northam"], by_name["Southby"]
    assert confident.rank == 1 and early.rank == 2
    assert confident.ci_low > early.ci_high, (confident.ci_low, early.ci_high)
    assert confident.rank_low == confident.rank_high == 1
    # The reasons the report gives, visible in the components.
    for name in ("shared_features", "feature_agreement", "feature_balance", "level_centre", "level_agreement"):
        assert confident.components[name] > early.components[name], name
    assert early.components["shared_features"] == 0.0       # nothing named by all three groups
    # One definition of "named by all three groups": in a DCS-manager-practitioner trio, all
    # three name it. Every member of Figure 2's groups names the group's features, so two
    # features are shared by every trio: the profile says so, and the index is 1 - 2**-2.
    shared = {f["code"] for f in confident.profile["positive"] if f["trios"] >= 0.5}
    assert shared == {"F.holistic_view", "F.locality_working"}
    assert confident.profile["shared_per_trio"] == pytest.approx(2.0)
    assert confident.components["shared_features"] == pytest.approx(0.75)
    assert all(f["trios"] == 0 for f in early.profile["positive"])
    assert len(early.profile["to_develop"]) > len(confident.profile["to_develop"])
    assert confident.flags == {"weight_rank_range": [1, 1]}
    assert confident.n == {"dcs": 1, "manager": 3, "practitioner": 4}


def test_profile_records_the_groups_that_named_each_feature(app, session, figure_round):
    rows = services.compute_scores(session, "test", figure_round, seed=1, n_replicates=50)
    fig2 = next(r for r in rows if r.authority.name == "Northam").profile
    named = {f["code"]: f["groups"] for f in fig2["positive"]}
    assert named["F.needs_analysis"] == ["dcs", "manager"]
    assert named["F.ict"] == ["dcs", "practitioner"]
    assert named["F.leadership"] == ["practitioner"]
    assert {f["code"] for f in fig2["to_develop"]} == {"F.co_location", "F.consultation_professionals",
                                                        "F.leadership", "F.communication"}
    assert fig2["groups"]["manager"]["distribution"]["3"] == 2
    assert fig2["groups"]["dcs"]["mean"] == 3.0
