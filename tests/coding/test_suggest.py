"""Suggested codes: what the model learns from, how it is measured, and the workbench."""
from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

from impactmodel.audit import AuditEvent
from impactmodel.auth.models import Role
from impactmodel.codebook.models import Coding
from impactmodel.coding import services, suggest
from impactmodel.coding.models import SuggestionModel
from impactmodel.fieldwork.models import Answer, Response
from tests.conftest import ENGINES

TOOLS = ["We brought in the CAF and a shared referral form for {}.",
         "The common assessment form is now how referrals about {} start."]
DIALOGUE = ["I talk with colleagues in health every week about {}.",
            "We meet people from other services and talk about {} far more."]
TOPICS = ["attendance", "autism", "placements", "exclusions", "housing", "transport", "play",
          "reading", "sleep", "meals", "sport", "music"]


@pytest.fixture
def coded_round(app, session, make_round, make_authority, make_user, make_answer):
    """A round with 12 answers coded L1.tools and 12 coded L2.dialogue, one respondent each,
    by a researcher through the coding service. Returns (round, borough, researcher)."""
    rnd = make_round()
    borough = make_authority(round=rnd)
    coder = make_user(Role.RESEARCHER, assigned=[borough])
    with app.app_context():
        for i, topic in enumerate(TOPICS):
            for phrases, code in ((TOOLS, "L1.tools"), (DIALOGUE, "L2.dialogue")):
                answer = make_answer(rnd, borough, phrases[i % 2].format(topic))
                services.add_coding(session, coder, answer.id, code, None, None, None)
    return rnd, borough, coder


def _train(app, session, rnd, actor="test"):
    with app.app_context():
        return suggest.train(session, actor, rnd)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_the_model_learns_only_agreed_codings_of_open_answers(app, session, coded_round, make_answer,
                                                              make_user):
    rnd, borough, coder = coded_round
    # Not agreed (a blind second coder's, before reconciliation), made by the instrument, or
    # imported without an answer: none of these may teach the model, however many.
    for i in range(12):
        answer = make_answer(rnd, borough, f"Nothing much changed in {TOPICS[i]}.")
        session.add_all([
            Coding(round_id=rnd.id, respondent_id=_respondent(session, answer), answer_id=answer.id,
                   code_id="L4.spread", start=0, end=7, coder="blind@example.org", agreed=False),
            Coding(round_id=rnd.id, respondent_id=_respondent(session, answer), answer_id=answer.id,
                   code_id="L3.family", coder="instrument", excerpt="x")])
    for i in range(12):
        session.add(Coding(round_id=rnd.id, respondent_id=_respondent(session, answer),
                           code_id="L2.workload", excerpt=f"More paperwork {i}", coder="import"))
    session.commit()

    row = _train(app, session, rnd)
    assert sorted(map(tuple, row.labels)) == [("L1.tools", "positive"), ("L2.dialogue", "positive")]
    assert row.too_few == {}
    assert (row.n_answers, row.n_respondents) == (24, 24)
    assert row.library == suggest.LIBRARY and row.training_seconds > 0
    stored = session.scalar(sa.select(SuggestionModel.model).where(SuggestionModel.round_id == rnd.id))
    assert len(stored) > 1000
    per_code = {r["code"]: r for r in row.metrics["per_code"]}
    assert sorted(per_code) == ["L1.tools", "L2.dialogue"]
    assert per_code["L1.tools"]["answers"] == 12
    assert row.metrics["held_out"] == 24 and row.metrics["folds"] == 5
    # The phrases are distinct enough: held-out suggestions beat the question's majority code.
    overall = row.metrics["overall"]
    assert overall["model"]["kappa"] > 0.8 > overall["baseline"]["kappa"]
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "suggest.train"))
    assert event.entity_id == str(rnd.id) and event.details["answers"] == 24
    assert "referral" not in str(event.details)   # counts only, never what anyone said

    # Training again replaces the round's row.
    again = _train(app, session, rnd)
    assert again.id == row.id
    assert session.scalar(sa.select(sa.func.count()).select_from(SuggestionModel)) == 1


def _respondent(session, answer):
    return session.scalar(sa.select(Response.respondent_id).where(Response.id == answer.response_id))


def test_held_out_answers_come_from_respondents_the_model_never_saw():
    """Two people each said one thing twelve times. Split by answer, each person's other
    answers would teach the model their words; split by respondent it never sees them,
    so it cannot suggest their code at all."""
    texts, respondents, labels = [], [], []
    for person, (word, code) in enumerate([("qwerty", "L1.tools"), ("zxcvb", "L2.dialogue")]):
        for i in range(12):
            texts.append(f"{word} {TOPICS[i]}")
            respondents.append(person)
            labels.append({(code, "positive")})
    for person in range(2, 8):      # others, with neither code
        for i in range(3):
            texts.append(f"plain words about {TOPICS[i + person]}")
            respondents.append(person)
            labels.append({("F.ict", "positive")})
    ex = suggest.Examples(list(range(len(texts))), respondents, ["q"] * len(texts), texts, labels)
    metrics = suggest.evaluate(ex, [("L1.tools", "positive"), ("L2.dialogue", "positive")])
    per_code = {r["code"]: r for r in metrics["per_code"]}
    assert metrics["respondents"] == 8
    assert per_code["L1.tools"]["model"]["recall"] == 0.0
    assert per_code["L2.dialogue"]["model"]["recall"] == 0.0


def test_scores_are_precision_recall_and_kappa_of_presence():
    human = np.array([1, 1, 1, 0, 0, 0, 0, 0], dtype=bool)
    suggested = np.array([1, 1, 0, 1, 0, 0, 0, 0], dtype=bool)
    s = suggest.scores(human, suggested)
    assert (s["tp"], s["fp"], s["fn"]) == (2, 1, 1)
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(2 / 3)
    po, pe = 6 / 8, (3 / 8) * (3 / 8) + (5 / 8) * (5 / 8)
    assert s["kappa"] == pytest.approx((po - pe) / (1 - pe))
    nothing = suggest.scores(human, np.zeros(8, dtype=bool))
    assert nothing["precision"] is None and nothing["recall"] == 0.0


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_accepting_records_the_coder_and_the_suggestion_and_stays_out_of_training(
        app, client, auth, session, coded_round, make_answer):
    rnd, borough, coder = coded_round
    _train(app, session, rnd)
    fresh = make_answer(rnd, borough, "We brought in the CAF and a shared referral form for fostering.")
    auth.login(coder)
    offered = client.get(f"/coding/answers/{fresh.id}/suggestions").get_json()
    assert offered["blind"] is False
    assert [(s["code"], s["valence"]) for s in offered["suggestions"]] == [("L1.tools", "positive")]
    confidence = offered["suggestions"][0]["confidence"]
    assert 0.5 <= confidence <= 1
    page = client.get(f"/coding/answers/{fresh.id}").get_data(as_text=True)
    assert "Suggested codes" in page and 'data-accept-code="L1.tools"' in page

    refused = client.post(f"/coding/answers/{fresh.id}/suggestions/accept",
                          json={"code": "L2.dialogue", "valence": "positive"})
    assert refused.status_code == 422 and "not suggested" in refused.get_json()["error"]
    r = client.post(f"/coding/answers/{fresh.id}/suggestions/accept",
                    json={"code": "L1.tools", "valence": "positive"})
    assert r.status_code == 201, r.get_json()
    coding = session.get(Coding, r.get_json()["coding"]["id"])
    assert coding.suggested and coding.suggestion_confidence == pytest.approx(confidence, abs=1e-3)
    assert coding.coder_id == coder.id and coding.agreed
    assert (coding.start, coding.end) == (0, len(fresh.text))
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "coding.add",
                                                       AuditEvent.entity_id == str(coding.id)))
    assert event.actor == coder.email and event.details["suggested"] == pytest.approx(confidence, abs=1e-3)
    # Accepted, it is no longer suggested; accepting twice stores nothing more.
    assert client.get(f"/coding/answers/{fresh.id}/suggestions").get_json()["suggestions"] == []
    assert client.post(f"/coding/answers/{fresh.id}/suggestions/accept",
                       json={"code": "L1.tools", "valence": "positive"}).status_code == 422

    # The coder adds a code of their own too: the answer still carries an accepted
    # suggestion, so it stays out of training and of the measurement.
    with app.app_context():
        services.add_coding(session, coder, fresh.id, "L2.dialogue", None, 0, 6)
    row = _train(app, session, rnd)
    assert row.n_answers == 24 and row.metrics["left_out_suggested"] == 1
    assert row.metrics["held_out"] == 24
    with app.app_context():
        assert fresh.id not in suggest.training_examples(session, rnd.id).answer_ids


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_blind_second_coder_is_never_shown_suggestions(app, client, auth, session, coded_round,
                                                         make_user, make_answer):
    rnd, borough, coder = coded_round
    _train(app, session, rnd)
    second = make_user(Role.RESEARCHER, assigned=[borough])
    with app.app_context():
        drawn = services.draw_double_sample(session, coder, rnd.id, second.id, 1.0, seed=3)
    blind_id = next(d.answer_id for d in drawn if "CAF" in session.get(Answer, d.answer_id).text)
    uncoded = make_answer(rnd, borough, "The common assessment form is now how referrals about bullying start.")
    auth.login(second)
    # Outside blind coding the same coder is shown suggestions ...
    assert client.get(f"/coding/answers/{uncoded.id}/suggestions").get_json()["suggestions"]
    # ... but on the answer they code blind, nowhere.
    body = client.get(f"/coding/answers/{blind_id}/suggestions").get_json()
    assert body == {"blind": True, "suggestions": []}
    for url in (f"/coding/answers/{blind_id}", f"/coding/answers/{blind_id}/panel"):
        page = client.get(url).get_data(as_text=True)
        assert "Blind" in page or url.endswith("panel")
        assert "Suggested codes" not in page and "data-accept-code" not in page
    r = client.post(f"/coding/answers/{blind_id}/suggestions/accept",
                    json={"code": "L1.tools", "valence": "positive"})
    assert r.status_code == 403
    assert session.scalar(sa.select(sa.func.count()).select_from(Coding).where(
        Coding.coder_id == second.id)) == 0


def test_codes_with_few_coded_answers_get_no_suggestions(app, client, auth, session, coded_round,
                                                         make_answer):
    rnd, borough, coder = coded_round
    with app.app_context():
        for topic in TOPICS[:9]:
            answer = make_answer(rnd, borough, f"Our shared ICT system still does not talk to health about {topic}.")
            services.add_coding(session, coder, answer.id, "F.ict", "to_develop", None, None)
    row = _train(app, session, rnd)
    assert ["F.ict", "to_develop"] not in row.labels
    assert row.too_few == {"F.ict": {"to_develop": 9}}
    assert "F.ict" not in {r["code"] for r in row.metrics["per_code"]}
    like_them = make_answer(rnd, borough, "Our shared ICT system still does not talk to health about food.")
    auth.login(coder)
    offered = client.get(f"/coding/answers/{like_them.id}/suggestions").get_json()["suggestions"]
    assert "F.ict" not in {s["code"] for s in offered}
    page = client.get(f"/coding/reliability?round={rnd.id}").get_data(as_text=True)
    assert "No suggestions: fewer than 10 coded answers in this round" in page
    assert "<code>F.ict</code>" in page and "to develop (9 answers)" in page


def test_a_round_with_too_little_coding_trains_nothing(app, session, make_round, make_authority, make_user,
                                                       make_answer, runner):
    rnd = make_round()
    borough = make_authority(round=rnd)
    coder = make_user(Role.RESEARCHER, assigned=[borough])
    with app.app_context():
        answer = make_answer(rnd, borough, "We brought in the CAF.")
        services.add_coding(session, coder, answer.id, "L1.tools", None, None, None)
        with pytest.raises(suggest.SuggestError, match="nothing to learn from"):
            suggest.train(session, "test", rnd)
    result = runner.invoke(args=["suggest", "train", "--round", rnd.name])
    assert result.exit_code != 0 and "Nothing was trained" in result.output
    assert session.scalar(sa.select(sa.func.count()).select_from(SuggestionModel)) == 0


def test_the_train_command_stores_and_reports(runner, session, coded_round):
    rnd, *_ = coded_round
    result = runner.invoke(args=["suggest", "train", "--round", rnd.name])
    assert result.exit_code == 0, result.output
    assert "Trained on 24 coded answers of 24 respondents" in result.output
    assert "Held out by respondent (5 folds): precision" in result.output and "baseline" in result.output
    assert session.scalar(sa.select(SuggestionModel.n_answers).where(SuggestionModel.round_id == rnd.id)) == 24
    unknown = runner.invoke(args=["suggest", "train", "--round", "No such round"])
    assert unknown.exit_code != 0 and "no round called 'No such round'" in unknown.output


def test_reliability_page_shows_held_out_quality_and_researchers_train_from_it(
        app, client, auth, session, coded_round, make_user):
    rnd, borough, coder = coded_round
    auth.login(Role.ANALYST)
    page = client.get(f"/coding/reliability?round={rnd.id}").get_data(as_text=True)
    assert "No model of suggested codes has been trained" in page
    assert "Train suggested codes" not in page          # analysts read, coders train
    auth.logout()

    auth.login(coder)
    page = client.get(f"/coding/reliability?round={rnd.id}").get_data(as_text=True)
    assert "Train suggested codes" in page
    r = client.post(f"/coding/rounds/{rnd.id}/suggestions/train")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"round={rnd.id}#suggestions")
    page = client.get(f"/coding/reliability?round={rnd.id}").get_data(as_text=True)
    assert "Suggested codes trained on 24 coded answers of 24 respondents" in page
    assert "Held-out quality of suggested codes per code, beside the baseline" in page
    assert "5 folds split by respondent" in page and "<code>L1.tools</code>" in page
    assert "All suggested codes together" in page
    assert "Train again on the coding as it is now" in page


def test_a_model_written_by_another_library_version_is_not_used(app, client, auth, session, coded_round,
                                                                make_answer):
    rnd, borough, coder = coded_round
    row = _train(app, session, rnd)
    row.library = "scikit-learn 0.1"
    session.commit()
    fresh = make_answer(rnd, borough, "We brought in the CAF and a shared referral form for fostering.")
    auth.login(coder)
    assert client.get(f"/coding/answers/{fresh.id}/suggestions").get_json()["suggestions"] == []
