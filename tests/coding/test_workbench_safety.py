"""The workbench's safety and context: an explicit "no code applies" in blind coding,
"next" within the round and filter, undo for a removed coding, the whole response beside
the answer, search across answer text and question filters that keep questions apart."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from impactmodel.audit import AuditEvent
from impactmodel.auth.models import Role
from impactmodel.coding import queries, reliability, services
from impactmodel.codebook.models import Coding
from impactmodel.coding.models import DoubleCoding, Memo, RemovedCoding
from impactmodel.enums import RespondentRole
from impactmodel.fieldwork.instruments import checksum
from impactmodel.fieldwork.models import Answer, Instrument, InstrumentVersion, Response, ResponseMode
from impactmodel.stats import krippendorff_mv_alpha
from tests.conftest import ENGINES, PASSWORD


def _login(client, user):
    client.post("/logout")
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302


@pytest.fixture
def drawn(app, session, make_round, make_authority, make_user, make_answer):
    """Three coded answers of one round drawn for blind coder B, and one of another round
    drawn earlier (a lower id): ``(round, other round, first coder, B, answers, other answer)``."""
    early = make_round("Autumn")
    rnd = make_round("Spring")
    borough = make_authority(round=rnd)
    a = make_user(Role.RESEARCHER, assigned=[borough])
    b = make_user(Role.RESEARCHER, assigned=[borough])
    elsewhere = make_answer(early, borough, "Earlier round: the panel meets.")
    answers = [make_answer(rnd, borough, f"Answer {i}: panels meet and plans are shared.",
                           question="impact" if i != 2 else "features") for i in range(1, 4)]
    with app.app_context():
        for x in [elsewhere] + answers:
            services.add_coding(session, a, x.id, "L1.tools", None, 0, 6)
        services.draw_double_sample(session, a, early.id, b.id, 1.0, seed=1)
        services.draw_double_sample(session, a, rnd.id, b.id, 1.0, seed=1)
    return rnd, early, a, b, answers, elsewhere


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_finishing_with_no_code_asks_first_and_records_the_decision(app, client, session, drawn):
    rnd, _early, a, b, answers, _elsewhere = drawn
    x = answers[0]
    _login(client, b)
    asked = client.post(f"/coding/answers/{x.id}/done", json={})
    assert asked.status_code == 409 and asked.get_json()["confirm"] is True
    assert "confirm that no code" in asked.get_json()["error"]
    row = session.scalar(sa.select(DoubleCoding).where(DoubleCoding.answer_id == x.id))
    session.refresh(row)
    assert row.second_done_at is None and row.no_code_applies is False     # nothing changed
    # The form without the box ticked is refused the same way, with a message.
    page = client.post(f"/coding/answers/{x.id}/done", data={}, follow_redirects=True)
    assert "Not finished: you applied no code" in page.get_data(as_text=True)
    assert client.post(f"/coding/answers/{x.id}/done", json={"no_code_applies": "yes"}).status_code == 400
    done = client.post(f"/coding/answers/{x.id}/done", json={"no_code_applies": True})
    assert done.status_code == 200
    session.refresh(row)
    assert row.second_done_at is not None and row.no_code_applies is True
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "double_coding.done"))
    assert event.details["no_code_applies"] is True and event.details["codings"] == 0
    # With a code applied, "no code applies" is a contradiction.
    y = answers[1]
    client.post(f"/coding/answers/{y.id}/codings", json={"code": "L2.dialogue", "valence": "positive"})
    assert client.post(f"/coding/answers/{y.id}/done", json={"no_code_applies": True}).status_code == 422
    assert client.post(f"/coding/answers/{y.id}/done", json={}).status_code == 200


def test_an_explicit_empty_coding_is_a_value_and_an_unfinished_one_is_missing(app, session, drawn, make_user):
    rnd, _early, a, b, answers, _elsewhere = drawn
    c = make_user(Role.RESEARCHER, assigned=[answers[0].response.respondent.authority])
    with app.app_context():
        services.draw_double_sample(session, a, rnd.id, c.id, 1.0, seed=2)
        # Answer 1: both blind coders decide that no code applies; answer 2: B codes it,
        # C has not finished; answer 3: B agrees with the first coder, C says no code.
        services.finish_second_coding(session, b, answers[0].id, no_code_applies=True)
        services.finish_second_coding(session, c, answers[0].id, no_code_applies=True)
        services.add_coding(session, b, answers[1].id, "L1.tools", None, 0, 6)
        services.finish_second_coding(session, b, answers[1].id)
        services.add_coding(session, b, answers[2].id, "L1.tools", None, 0, 6)
        services.finish_second_coding(session, b, answers[2].id)
        services.finish_second_coding(session, c, answers[2].id, no_code_applies=True)
    data = queries.double_coded(session, rnd.id)
    assert data.units == [x.id for x in answers]
    sets = reliability.code_sets(data)
    empty = frozenset()
    tools = frozenset({"L1.tools"})
    assert sets == [[tools, empty, empty], [tools, tools, None], [tools, tools, empty]]
    report = reliability.reliability_report(data, ["L1.tools", "L2.dialogue"], n_resamples=20, seed=1)
    assert report.no_code_decisions == 3
    # The two empty codings of answer 1 agree; each empty one disagrees with the first coding.
    assert report.mv_alpha.estimate == pytest.approx(krippendorff_mv_alpha(sets))
    assert krippendorff_mv_alpha([[empty, empty], [tools, tools]]) == pytest.approx(1.0)


def test_a_finished_blind_coding_without_codes_or_decision_is_not_counted(app, session, drawn):
    """Made before the decision was recorded (or by hand): not a coding of the answer."""
    rnd, _early, a, b, answers, _elsewhere = drawn
    with app.app_context():
        services.add_coding(session, b, answers[1].id, "L1.tools", None, 0, 6)
        services.finish_second_coding(session, b, answers[1].id)
    row = session.scalar(sa.select(DoubleCoding).where(DoubleCoding.answer_id == answers[0].id,
                                                       DoubleCoding.second_coder_id == b.id))
    row.second_done_at = answers[0].updated_at
    session.commit()
    assert queries.double_coded(session, rnd.id).units == [answers[1].id]


def test_next_stays_within_the_round_and_filter(app, client, session, drawn):
    rnd, early, _a, b, answers, elsewhere = drawn
    _login(client, b)
    page = client.get(f"/coding/answers/{answers[0].id}?queue=double&round={rnd.id}").get_data(as_text=True)
    assert f'data-next-url="/coding/answers/{answers[1].id}?queue=double&amp;round={rnd.id}"' in page
    assert f"/coding/answers/{elsewhere.id}?" not in page.split('data-next-url')[1].split('>')[0]
    nxt = client.post(f"/coding/answers/{answers[0].id}/done?queue=double&round={rnd.id}",
                      json={"no_code_applies": True}).get_json()["next"]
    assert nxt == f"/coding/answers/{answers[1].id}?queue=double&round={rnd.id}"
    # Filtered to one question: answer 2 asks another, so the next is answer 3.
    question = queries.question_value(answers[0].response.instrument_version_id, "impact")
    nxt = client.post(f"/coding/answers/{answers[1].id}/done?queue=double&round={rnd.id}&question={question}",
                      json={"no_code_applies": True}).get_json()["next"]
    assert nxt.startswith(f"/coding/answers/{answers[2].id}?") and "question=" in nxt
    # The last one in the round goes back to the round's list, not to the other round.
    nxt = client.post(f"/coding/answers/{answers[2].id}/done?queue=double&round={rnd.id}",
                      json={"no_code_applies": True}).get_json()["next"]
    assert nxt == f"/coding/double?round={rnd.id}"
    # Opened from the queue (no queue=double), the answer's own round is kept.
    nxt = client.post(f"/coding/answers/{elsewhere.id}/done", json={"no_code_applies": True}).get_json()["next"]
    assert nxt == f"/coding/double?round={early.id}"


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_undo_restores_a_removed_coding_exactly(app, client, session, make_round, make_authority, make_user,
                                                make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    coder = make_user(Role.RESEARCHER, assigned=[borough])
    other = make_user(Role.RESEARCHER, assigned=[borough])
    answer = make_answer(rnd, borough, "The panel meets weekly and plans are shared.")
    with app.app_context():
        coding = services.add_coding(session, coder, answer.id, "F.ict", "to_develop", 4, 9)
        services.add_memo(session, coder, answer.id, "Ask about the panel.", coding.id)
    columns = [c.key for c in Coding.__table__.columns]
    before = {k: getattr(coding, k) for k in columns}
    coding_id = coding.id
    memo_before = session.scalar(sa.select(Memo).where(Memo.coding_id == coding.id))
    memo_before = {k: getattr(memo_before, k) for k in ("id", "answer_id", "coding_id", "author_id", "text",
                                                        "created_at")}
    _login(client, coder)
    removed = client.post(f"/coding/codings/{coding_id}/delete", json={})
    assert removed.get_json() == {"deleted": coding_id, "undo": f"/coding/codings/{coding_id}/restore"}
    session.expire_all()
    assert session.get(Coding, coding_id) is None
    assert session.scalar(sa.select(sa.func.count()).select_from(Memo)) == 0
    _login(client, other)                       # only who removed it may undo it
    refused = client.post(f"/coding/codings/{coding_id}/restore", json={})
    assert refused.status_code == 422 and "only who removed" in refused.get_json()["error"]
    _login(client, coder)
    restored = client.post(f"/coding/codings/{coding_id}/restore", json={})
    assert restored.status_code == 201 and restored.get_json()["coding"]["id"] == coding_id
    session.expire_all()
    back = session.get(Coding, coding_id)
    assert {k: getattr(back, k) for k in columns} == before
    memo = session.scalar(sa.select(Memo).where(Memo.coding_id == coding_id))
    assert {k: getattr(memo, k) for k in memo_before} == memo_before
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "coding.restore"))
    assert event.entity_id == str(coding_id) and event.details["memos"] == 1
    assert "panel" not in str(event.details)                 # no answer text in the log
    # Undone once: nothing left to restore.
    assert client.post(f"/coding/codings/{coding_id}/restore", json={}).status_code == 404
    assert session.scalar(sa.select(RemovedCoding.restored_at)) is not None


def test_undo_follows_an_edited_answer_and_refuses_a_duplicate(app, client, session, make_round, make_authority,
                                                               make_user, make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    coder = make_user(Role.RESEARCHER, assigned=[borough])
    answer = make_answer(rnd, borough, "Panels meet weekly.")
    with app.app_context():
        first = services.add_coding(session, coder, answer.id, "L1.tools", None, 0, 6)
        services.delete_coding(session, coder, first.id)
        answer.text = "Now: Panels meet weekly."
        session.commit()
        back = services.restore_coding(session, coder, first.id)
        assert (back.start, back.end, back.excerpt) == (5, 11, "Panels")
        services.delete_coding(session, coder, back.id)
        again = services.add_coding(session, coder, answer.id, "L1.tools", None, 5, 11)
        with pytest.raises(services.AlreadyApplied):
            services.restore_coding(session, coder, first.id)
        assert session.get(Coding, again.id) is not None


def test_a_done_blind_coding_cannot_be_changed_by_undo(app, session, drawn):
    _rnd, _early, _a, b, answers, _elsewhere = drawn
    x = answers[0]
    with app.app_context():
        mine = services.add_coding(session, b, x.id, "L2.dialogue", None, 0, 6)
        services.delete_coding(session, b, mine.id)
        services.add_coding(session, b, x.id, "L1.tools", None, 0, 6)
        services.finish_second_coding(session, b, x.id)
        with pytest.raises(services.CodingError, match="marked done"):
            services.restore_coding(session, b, mine.id)


def test_whole_response_beside_the_answer(app, client, session, make_round, make_authority, make_user,
                                          make_answer, make_respondent):
    rnd = make_round()
    borough = make_authority(round=rnd)
    coder = make_user(Role.RESEARCHER, assigned=[borough])
    person = make_respondent(rnd, borough, "practitioner")
    # Asked in the instrument's order: "impact" before "features", whatever the ids.
    later = make_answer(rnd, borough, "Shared plans helped most.", question="features", respondent=person)
    response = later.response
    first = Answer(question_key="impact", text="Panels meet weekly now.")
    response.answers.append(first)
    session.commit()
    make_answer(rnd, borough, "Another person's words.")
    with app.app_context():
        services.add_coding(session, coder, first.id, "L1.tools", None, 0, 6)
    _login(client, coder)
    page = client.get(f"/coding/answers/{later.id}").get_data(as_text=True)
    pane = page.split('id="whole-response"')[1].split("</details>")[0]
    assert pane.index("meet weekly now.") > 0
    assert pane.index("What difference has integrated") < pane.index("Which features of your authority")
    assert '<mark title="L1.tools">Panels</mark>' in pane and "<code>L1.tools</code>" in pane
    assert 'aria-current="true"' in pane and "Another person" not in pane
    assert f'href="/coding/answers/{first.id}"' in pane


def test_a_blind_coder_sees_only_their_own_codes_in_the_whole_response(app, client, session, drawn):
    _rnd, _early, _a, b, answers, _elsewhere = drawn
    _login(client, b)
    page = client.get(f"/coding/answers/{answers[0].id}?queue=double").get_data(as_text=True)
    pane = page.split('id="whole-response"')[1].split("</details>")[0]
    assert "your own codes" in pane and "L1.tools" not in pane and "<mark" not in pane


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_search_across_answer_text_within_the_filters(app, client, session, make_round, make_authority,
                                                      make_user, make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    coder = make_user(Role.RESEARCHER, assigned=[borough])
    for i in range(55):
        make_answer(rnd, borough, f"Answer {i}: the Key Worker listened.")
    make_answer(rnd, borough, "Panels meet weekly; 100% better.", role="manager")
    make_answer(rnd, borough, "The key_worker role is new.", role="manager")
    _login(client, coder)
    html = client.get(f"/coding/?round={rnd.id}&search=key+worker").get_data(as_text=True)
    assert "55 answers." in html and "page 1 of 2" in html   # case aside, 50 a page
    # "%" and "_" stand for themselves, not for any characters.
    assert "1 answer." in client.get("/coding/?search=key_worker").get_data(as_text=True)
    assert "1 answer." in client.get("/coding/?search=100%25").get_data(as_text=True)
    page2 = client.get(f"/coding/?round={rnd.id}&search=key+worker&page=2").get_data(as_text=True)
    assert "page 2 of 2" in page2 and "Answer 54" in page2 and "Panels meet" not in page2
    assert "search=key+worker" in page2.split('class="pager"')[1]       # the search stays on the pages
    managers = client.get(f"/coding/?round={rnd.id}&search=KEY&role=manager").get_data(as_text=True)
    assert "1 answer." in managers and "key_worker role" in managers
    assert 'value="KEY"' in managers


def test_question_filter_keeps_instrument_versions_and_keys_apart(app, client, session, make_round,
                                                                 make_authority, make_user, make_respondent):
    rnd = make_round()
    borough = make_authority(round=rnd)
    coder = make_user(Role.RESEARCHER, assigned=[borough])
    inst = Instrument(key="staff_talk", title="Staff interview", role=RespondentRole.MANAGER)
    # The same question in two versions that differ elsewhere (a stored checksum is always
    # that of its definition: pages keep a definition's labels by it).
    definitions = [{"sections": [{"questions": [{"key": "q1", "label": "What changed?"}]}], "note": f"v{v}"}
                   for v in (1, 2)]
    versions = [InstrumentVersion(instrument=inst, version=v, checksum=checksum(d), definition=d)
                for v, d in zip((1, 2), definitions)]
    session.add_all([inst, *versions])
    session.flush()
    for version, text in zip(versions, ["Asked in version one.", "Asked in version two."]):
        person = make_respondent(rnd, borough, "manager")
        response = Response(respondent_id=person.id, instrument_version_id=version.id, mode=ResponseMode.INTERVIEW)
        response.answers.append(Answer(question_key="q1", text=text))
        session.add(response)
    session.commit()
    _login(client, coder)
    queue = client.get(f"/coding/?round={rnd.id}").get_data(as_text=True)
    first, second = (queries.question_value(v.id, "q1") for v in versions)
    assert f'value="{first}"' in queue and f'value="{second}"' in queue
    assert "Staff interview (version 1): What changed?" in queue
    assert "Staff interview (version 2): What changed?" in queue
    only_first = client.get(f"/coding/?round={rnd.id}&question={first}").get_data(as_text=True)
    assert "Asked in version one." in only_first and "Asked in version two." not in only_first
    # A bare key (an address from before) still finds the question in every version.
    both = client.get(f"/coding/?round={rnd.id}&question=q1").get_data(as_text=True)
    assert "Asked in version one." in both and "Asked in version two." in both
