"""The database raises a draw's codings_version whenever what comparing its coders reads
changes, and the disagreements kept per draw follow every change."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from impactmodel.auth.models import Role
from impactmodel.codebook.models import Coding
from impactmodel.coding import disagreements, queries, reliability, stored_reliability, tasks
from impactmodel.coding.disagreements import page_of_disagreements, refresh_verdicts
from impactmodel.coding.models import DoubleCoding, DrawVerdict
from impactmodel.db import utcnow
from tests.coding.test_scale import coded_answers
from tests.conftest import ENGINES
from tests.statements import statements


@pytest.fixture
def drawn(app, session, make_round, make_authority, make_user, make_answer):
    """Four coded answers; the first two drawn for a second coder (the second for a third
    coder too), finished; the others not drawn."""
    rnd = make_round()
    north = make_authority("North", round=rnd)
    first, second, third = make_user(Role.ADMIN), make_user(Role.ADMIN), make_user(Role.ADMIN)
    answers = coded_answers(session, make_answer, rnd, north, first, 4)
    respondent_id = session.scalar(sa.select(Coding.respondent_id).where(Coding.answer_id == answers[0]))
    done = utcnow()
    draws = [DoubleCoding(round_id=rnd.id, answer_id=answers[0], second_coder_id=second.id, second_done_at=done),
             DoubleCoding(round_id=rnd.id, answer_id=answers[1], second_coder_id=second.id, second_done_at=done),
             DoubleCoding(round_id=rnd.id, answer_id=answers[1], second_coder_id=third.id, second_done_at=done)]
    session.add_all(draws)
    session.flush()
    # Each second coder agrees with the first: L1.tools, positive.
    session.add_all(Coding(round_id=rnd.id, respondent_id=respondent_id, answer_id=d.answer_id, code_id="L1.tools",
                           valence="positive", start=0, end=6, coder=coder.email, coder_id=coder.id, agreed=False)
                    for d, coder in zip(draws, (second, second, third)))
    session.commit()
    return {"round": rnd, "answers": answers, "draws": [d.id for d in draws], "respondent": respondent_id,
            "first": first, "second": second, "third": third}


def versions(session, draw_ids) -> list[int]:
    session.expire_all()
    by_id = dict(session.execute(sa.select(DoubleCoding.id, DoubleCoding.codings_version)
                                 .where(DoubleCoding.id.in_(draw_ids))).all())
    return [by_id.get(d) for d in draw_ids]


def add_coding(session, world, answer_id, coder, code="L3.cyp.confidence", valence="positive") -> Coding:
    coding = Coding(round_id=world["round"].id, respondent_id=world["respondent"], answer_id=answer_id,
                    code_id=code, valence=valence, start=0, end=6, coder=coder.email, coder_id=coder.id,
                    agreed=False)
    session.add(coding)
    session.commit()
    return coding


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_every_change_to_a_drawn_answers_codings_or_draws_raises_its_draws(session, drawn):
    a, d = drawn["answers"], drawn["draws"]
    before = versions(session, d)
    # A coding added on the second answer raises both its draws, not the first answer's.
    coding = add_coding(session, drawn, a[1], drawn["second"])
    after_add = versions(session, d)
    assert after_add[0] == before[0] and after_add[1] > before[1] and after_add[2] > before[2]
    # Codings on answers not drawn raise nothing; nor does agreeing a coding.
    add_coding(session, drawn, a[3], drawn["first"])
    session.execute(sa.update(Coding).where(Coding.id == coding.id).values(agreed=True))
    session.commit()
    assert versions(session, d) == after_add
    # A change of code, valence or coder raises it; so does a coding moving to another answer
    # (both answers' draws).
    for change in ({"valence": "negative"}, {"code_id": "L1.tools"}, {"coder_id": drawn["third"].id}):
        was = versions(session, d)
        session.execute(sa.update(Coding).where(Coding.id == coding.id).values(**change))
        session.commit()
        now = versions(session, d)
        assert now[0] == was[0] and now[1] > was[1] and now[2] > was[2], change
    was = versions(session, d)
    session.execute(sa.update(Coding).where(Coding.id == coding.id).values(answer_id=a[0]))
    session.commit()
    assert all(n > w for n, w in zip(versions(session, d), was))
    # Removing a coding raises its answer's draws.
    was = versions(session, d)
    session.execute(sa.delete(Coding).where(Coding.id == coding.id))
    session.commit()
    now = versions(session, d)
    assert now[0] > was[0] and now[1:] == was[1:]
    # One statement adding codings to several answers raises each answer's draws.
    was = versions(session, d)
    session.execute(sa.insert(Coding), [
        {"round_id": drawn["round"].id, "respondent_id": drawn["respondent"], "answer_id": answer,
         "code_id": "L1.tools", "valence": "negative", "coder": "import", "agreed": True} for answer in a])
    session.commit()
    assert all(n > w for n, w in zip(versions(session, d), was))
    # A draw finished again, or marked "no code applies", raises itself alone.
    for change in ({"second_done_at": None}, {"second_done_at": utcnow()}, {"no_code_applies": True}):
        was = versions(session, d)
        session.execute(sa.update(DoubleCoding).where(DoubleCoding.id == d[2]).values(**change))
        session.commit()
        now = versions(session, d)
        assert now[:2] == was[:2] and now[2] > was[2], change
    # Reconciling changes nothing the comparison reads.
    was = versions(session, d)
    session.execute(sa.update(DoubleCoding).where(DoubleCoding.id == d[1]).values(reconciled_at=utcnow()))
    session.commit()
    assert versions(session, d) == was
    # Removing a draw raises the other draws of its answer.
    session.execute(sa.delete(DoubleCoding).where(DoubleCoding.id == d[2]))
    session.commit()
    now = versions(session, d)
    assert now[0] == was[0] and now[1] > was[1] and now[2] is None


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_kept_disagreements_follow_the_coders_and_are_compared_only_when_they_change(app, session, drawn,
                                                                                   monkeypatch):
    monkeypatch.setattr(disagreements, "REFRESH_BATCH", 1)      # answers compared a few at a time
    rnd, a, first = drawn["round"], drawn["answers"], drawn["first"]

    def listed():
        return page_of_disagreements(session, first, rnd.id, None, 1, 20, True)

    found = listed()
    assert found.answer_ids == [] and found.agreed_pending == 2
    assert session.scalar(sa.select(sa.func.count()).select_from(DrawVerdict)) == 3
    # Nothing changed: nothing is compared or written again.
    with statements(app) as seen:
        assert listed().agreed_pending == 2
    assert not [s for s in seen if "draw_verdict" in s and s.lstrip().upper().startswith(("INSERT", "DELETE"))]
    assert refresh_verdicts(session, rnd.id) is False
    # The third coder adds a code on the second answer: it now differs, alone.
    extra = add_coding(session, drawn, a[1], drawn["third"])
    found = listed()
    assert found.answer_ids == [a[1]] and found.total == 1 and found.agreed_pending == 1
    # The first coder adds the same code: they agree again.
    add_coding(session, drawn, a[1], first)
    add_coding(session, drawn, a[1], drawn["second"])
    assert listed().answer_ids == [] and listed().agreed_pending == 2
    # A second coder's valence changes in place: the first answer differs.
    mine = session.scalar(sa.select(Coding.id).where(Coding.answer_id == a[0],
                                                     Coding.coder_id == drawn["second"].id))
    session.execute(sa.update(Coding).where(Coding.id == mine).values(valence="negative"))
    session.commit()
    assert listed().answer_ids == [a[0]]
    # Removing that coding leaves the second coder with nothing: they no longer count,
    # unless they recorded that no code applies (then the answer differs).
    session.execute(sa.delete(Coding).where(Coding.id == mine))
    session.commit()
    found = listed()
    assert found.answer_ids == [] and found.agreed_pending == 1
    session.execute(sa.update(DoubleCoding).where(DoubleCoding.id == drawn["draws"][0]).values(no_code_applies=True))
    session.commit()
    assert listed().answer_ids == [a[0]]
    # The third coder's extra code moves to the fourth answer (not drawn): the third coder
    # now lacks the code the other two added on the second answer.
    session.execute(sa.update(Coding).where(Coding.id == extra.id).values(answer_id=a[3]))
    session.commit()
    assert listed().answer_ids == [a[0], a[1]]
    # Every kept verdict matches a comparison made from scratch.
    assert sorted(_differing_from_scratch(session, rnd.id)) == sorted(
        session.scalars(sa.select(DoubleCoding.answer_id).join(DrawVerdict, DrawVerdict.draw_id == DoubleCoding.id)
                        .where(DrawVerdict.differs.is_(True)).distinct()))


def _differing_from_scratch(session, round_id: int) -> list[int]:
    return reliability.disagreements(queries.double_coded(session, round_id))


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_the_reliability_fingerprint_moves_with_the_finished_double_coding_alone(session, drawn):
    rnd, a = drawn["round"], drawn["answers"]

    def fingerprint():
        return queries.double_coding_fingerprint(session, rnd.id)

    start = fingerprint()
    add_coding(session, drawn, a[3], drawn["first"])           # an answer not drawn
    assert fingerprint() == start
    session.execute(sa.update(DoubleCoding).where(DoubleCoding.id == drawn["draws"][0]).values(reconciled_at=utcnow()))
    session.commit()
    assert fingerprint() == start
    coding = add_coding(session, drawn, a[0], drawn["second"])
    moved = fingerprint()
    assert moved != start
    session.execute(sa.update(Coding).where(Coding.id == coding.id).values(valence="negative"))
    session.commit()
    assert fingerprint() not in (start, moved)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_the_reliability_job_leaves_the_verdicts_ready(app, session, drawn):
    job, _new = stored_reliability.request(session, drawn["first"], drawn["round"])
    with app.app_context():
        tasks.compute_reliability({"round_id": drawn["round"].id, "user_id": None, "job_id": job.id})
    assert refresh_verdicts(session, drawn["round"].id) is False
    assert session.scalar(sa.select(sa.func.count()).select_from(DrawVerdict)) == 3
