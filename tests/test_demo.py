"""`make demo`: the generated consortium loads through the app's services and its log-ins work."""
from __future__ import annotations

import sqlalchemy as sa

from impactmodel.analysis.models import AuthorityMemo
from impactmodel.codebook.models import Coding
from impactmodel.coding.models import DoubleCoding
from impactmodel.consortium.models import Authority, Case, Participation, Respondent, Round
from impactmodel.demo.generate import ROUNDS, consortium
from impactmodel.demo.loader import DEMO_USERS
from impactmodel.fieldwork.models import Answer, Invitation, Response
from impactmodel.indicators.models import IndicatorValue
from impactmodel.scoring.models import ConfidenceScore, RoundScoring


def test_generator_is_seeded():
    assert consortium(7) == consortium(7)
    assert consortium(7) != consortium(8)


def test_demo_data_loads_and_log_ins_work(runner, app, session):
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    assert "admin@demo.larc.test" in result.output and "password:" in result.output
    assert session.scalar(sa.select(sa.func.count()).select_from(Round)) == 2
    assert session.scalar(sa.select(sa.func.count()).select_from(Authority)) >= 6
    roles = set(session.scalars(sa.select(Respondent.role).distinct()))
    assert {r.value for r in roles} == {"dcs", "manager", "practitioner", "parent", "child"}
    assert session.scalar(sa.select(sa.func.count()).select_from(Coding)) > 1000
    assert session.scalar(sa.select(sa.func.count()).select_from(Participation)
                          .where(Participation.locality_id.is_not(None))) == 16
    # The current round went through fieldwork: interviews, survey links, span coding.
    count = lambda model, *where: session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
    assert count(Response, Response.mode == "interview") == 8 * 9
    assert count(Response, Response.mode == "self") == 8 * 14
    assert count(Invitation, Invitation.submitted_at.is_(None)) == 8 * 4  # links not yet answered
    assert count(Coding, Coding.start.is_not(None)) > 300
    uncoded = session.scalar(sa.select(sa.func.count(sa.distinct(Answer.id)))
                             .outerjoin(Coding, Coding.answer_id == Answer.id)
                             .where(Answer.text.is_not(None), Coding.id.is_(None)))
    assert uncoded > 0  # work waiting in the coding queue
    assert count(DoubleCoding) > 0 and count(DoubleCoding, DoubleCoding.reconciled_at.is_(None)) > 0
    assert count(DoubleCoding, DoubleCoding.second_done_at.is_(None)) > 0  # blind work waiting
    assert count(ConfidenceScore) == 16
    # Cases heard in all three voices in every authority and round, with memos.
    voices = session.execute(sa.select(Respondent.case_id, sa.func.count(sa.distinct(Respondent.role)))
                             .where(Respondent.case_id.is_not(None)).group_by(Respondent.case_id)).all()
    assert len(voices) >= 16 and {n for _c, n in voices} == {3}
    assert count(Case) == len(voices)
    assert count(AuthorityMemo, AuthorityMemo.case_id.is_not(None)) == len(voices)
    assert count(AuthorityMemo, AuthorityMemo.case_id.is_(None)) == 16
    # Indicators over two periods in each round, for every authority.
    periods = session.execute(sa.select(IndicatorValue.round_id, IndicatorValue.authority_id,
                                        sa.func.count(sa.distinct(IndicatorValue.period)))
                              .group_by(IndicatorValue.round_id, IndicatorValue.authority_id)).all()
    assert len(periods) == 16 and {n for *_, n in periods} == {2}
    best = session.scalars(sa.select(ConfidenceScore).where(ConfidenceScore.rank == 1)).all()
    # The most mature authority by construction leads in both rounds.
    assert {s.authority.name for s in best} == {"Northshire County Council"} and len(best) == 2
    # Every authority's context in both rounds, and the report's new tables have something on them.
    assert count(Participation, Participation.authority_type.is_not(None), Participation.children.is_not(None),
                 Participation.integrated_since.is_not(None)) == 16
    current = session.scalar(sa.select(Round).where(Round.name == ROUNDS[1]))
    summary = session.scalar(sa.select(RoundScoring.summary).where(RoundScoring.round_id == current.id))
    assert set(summary["key_groups"]) == {"lac", "asd", "ks3_absence"}
    assert all(kg["impacts_by_level"] and kg["table2"]["groups"] for kg in summary["key_groups"].values())
    assert summary["suggestions"]["rows"] and summary["thirds"]["rows"] and summary["to_develop"]["groups"]["practitioner"]
    admin = app.test_client()
    admin.post("/login", data={"email": DEMO_USERS[0][0], "password": DEMO_USERS[0][3]})
    report = admin.get(f"/rounds/{current.id}/report?key_group=lac").get_data(as_text=True)
    assert "County council" in report and "Very happy" in report and "Yes, always" in report
    rates = admin.get(f"/rounds/{current.id}/response-rates").get_data(as_text=True)
    assert "Northshire County Council" in rates and "Looked-after" in rates
    for email, _name, _role, password in DEMO_USERS:
        client = app.test_client()
        assert client.post("/login", data={"email": email, "password": password}).status_code == 302
        assert client.get("/").status_code == 200
    again = runner.invoke(args=["demo-data"])  # running `make demo` twice is harmless
    assert again.exit_code == 0 and "already loaded" in again.output
    assert session.scalar(sa.select(sa.func.count()).select_from(Round)) == 2
