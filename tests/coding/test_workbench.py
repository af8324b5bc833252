"""Span coding through the JSON calls, memos, the queue and its access rules."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from impactmodel.audit import AuditEvent
from impactmodel.auth.models import Role
from impactmodel.codebook.models import Coding
from impactmodel.coding.models import Memo
from tests.conftest import ENGINES

TEXT = "The CAF 😀 made us talk. Still no shared ICT system."


def utf16(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_coding_a_span_after_an_emoji_stores_python_offsets(client, auth, session, make_round,
                                                            make_authority, make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    answer = make_answer(rnd, borough, TEXT)
    user = auth.login(Role.RESEARCHER, assigned=[borough])
    start = TEXT.index("made us talk")
    end = start + len("made us talk")
    r = client.post(f"/coding/answers/{answer.id}/codings",
                    json={"code": "L2.dialogue", "start": utf16(TEXT, start), "end": utf16(TEXT, end)})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()["coding"]
    # The emoji before the span is one Python character but two UTF-16 units.
    assert (body["start"], body["end"]) == (start, end)
    assert (body["start_utf16"], body["end_utf16"]) == (start + 1, end + 1)
    coding = session.scalar(sa.select(Coding).where(Coding.answer_id == answer.id))
    assert TEXT[coding.start:coding.end] == "made us talk"
    assert coding.code_id == "L2.dialogue" and coding.valence.value == "positive"
    assert coding.agreed and coding.coder == user.email and coding.coder_id == user.id
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "coding.add"))
    assert event.actor == user.email and event.details["code"] == "L2.dialogue"
    assert "made us talk" not in str(event.details)   # never what a respondent wrote


def test_valences_are_limited_to_those_the_code_allows(client, auth, session, make_round,
                                                       make_authority, make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    answer = make_answer(rnd, borough, TEXT)
    auth.login(Role.RESEARCHER, assigned=[borough])
    s, e = utf16(TEXT, TEXT.index("shared ICT")), utf16(TEXT, len(TEXT) - 1)
    bad = client.post(f"/coding/answers/{answer.id}/codings",
                      json={"code": "L1.tools", "valence": "to_develop", "start": s, "end": e})
    assert bad.status_code == 422 and "does not apply to L1.tools" in bad.get_json()["error"]
    unknown = client.post(f"/coding/answers/{answer.id}/codings", json={"code": "L9.nothing"})
    assert unknown.status_code == 422
    inside_emoji = client.post(f"/coding/answers/{answer.id}/codings",
                               json={"code": "F.ict", "start": 9, "end": 12})
    assert inside_emoji.status_code == 422 and "inside a character" in inside_emoji.get_json()["error"]
    ok = client.post(f"/coding/answers/{answer.id}/codings",
                     json={"code": "F.ict", "valence": "to_develop", "start": s, "end": e})
    assert ok.status_code == 201
    assert session.scalar(sa.select(sa.func.count()).select_from(Coding)) == 1


def test_edit_remove_and_memos_are_audited(client, auth, session, make_round, make_authority, make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    answer = make_answer(rnd, borough, TEXT)
    user = auth.login(Role.RESEARCHER, assigned=[borough])
    cid = client.post(f"/coding/answers/{answer.id}/codings",
                      json={"code": "F.ict"}).get_json()["coding"]["id"]
    whole = session.get(Coding, cid)
    assert (whole.start, whole.end) == (0, len(TEXT))   # nothing selected: the whole answer
    r = client.post(f"/coding/codings/{cid}", json={"valence": "to_develop", "start": 0, "end": 3})
    assert r.status_code == 200
    session.expire_all()
    changed = session.get(Coding, cid)
    assert changed.valence.value == "to_develop" and (changed.start, changed.end) == (0, 3)
    m = client.post(f"/coding/answers/{answer.id}/memos", json={"text": "ICT is a sore point", "coding_id": cid})
    assert m.status_code == 201
    assert session.scalar(sa.select(Memo.text)) == "ICT is a sore point"
    panel = client.get(f"/coding/answers/{answer.id}/panel").get_data(as_text=True)
    assert "ICT is a sore point" in panel and "F.ict" in panel
    assert client.post(f"/coding/codings/{cid}/delete", json={}).status_code == 200
    assert session.scalar(sa.select(sa.func.count()).select_from(Coding)) == 0
    actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor_id == user.id)
                              .order_by(AuditEvent.id)).all()
    assert [a for a in actions if a.startswith(("coding.", "memo."))] == ["coding.add", "coding.update", "memo.add", "coding.delete"]


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_queue_filters_and_shows_no_identity(client, auth, make_round, make_authority, make_answer,
                                            make_respondent):
    rnd = make_round()
    borough = make_authority("Lakeside", round=rnd)
    parent = make_respondent(rnd, borough, "parent", reference="SECRET-REF-7", key_group="lac")
    make_answer(rnd, borough, "The key worker listened to us.", role="parent", respondent=parent)
    make_answer(rnd, borough, "Panels meet weekly now.", role="manager", question="features")
    auth.login(Role.RESEARCHER, assigned=[borough])
    page = client.get(f"/coding/?round={rnd.id}").get_data(as_text=True)
    assert "The key worker listened to us." in page and "Panels meet weekly now." in page
    assert "SECRET-REF-7" not in page and "Parent or carer" in page
    parents = client.get(f"/coding/?round={rnd.id}&role=parent&key_group=lac").get_data(as_text=True)
    assert "The key worker" in parents and "Panels meet" not in parents
    by_question = client.get(f"/coding/?question=features").get_data(as_text=True)
    assert "Panels meet" in by_question and "The key worker" not in by_question


def test_coders_see_only_assigned_authorities(client, auth, session, make_round, make_authority, make_answer):
    rnd = make_round()
    mine = make_authority("Assigned Shire", round=rnd)
    other = make_authority("Elsewhere Shire", round=rnd)
    make_answer(rnd, mine, "Visible answer text.")
    hidden = make_answer(rnd, other, "Hidden answer text.")
    auth.login(Role.RESEARCHER, assigned=[mine])
    page = client.get("/coding/?status=all").get_data(as_text=True)
    assert "Visible answer text." in page and "Hidden answer text." not in page
    assert "Elsewhere Shire" not in page
    assert client.get(f"/coding/answers/{hidden.id}").status_code == 403
    assert client.get(f"/coding/answers/{hidden.id}/codings").status_code == 403
    r = client.post(f"/coding/answers/{hidden.id}/codings", json={"code": "L1.tools"})
    assert r.status_code == 403
    assert session.scalar(sa.select(sa.func.count()).select_from(Coding)) == 0


def test_coded_answers_leave_the_uncoded_queue(client, auth, make_round, make_authority, make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    a = make_answer(rnd, borough, "First answer.")
    b = make_answer(rnd, borough, "Second answer.")
    auth.login(Role.ADMIN)
    page = client.get(f"/coding/answers/{a.id}?round={rnd.id}").get_data(as_text=True)
    assert f'data-next-url="/coding/answers/{b.id}?round={rnd.id}"' in page
    client.post(f"/coding/answers/{a.id}/codings", json={"code": "L1.tools"})
    queue = client.get(f"/coding/?round={rnd.id}").get_data(as_text=True)
    assert "Second answer." in queue and "First answer." not in queue
    coded = client.get(f"/coding/?round={rnd.id}&status=coded").get_data(as_text=True)
    assert "First answer." in coded and "Second answer." not in coded


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_a_survey_not_yet_sent_stays_out_of_coding(app, client, auth, session, make_round,
                                                   make_authority, make_answer):
    """The respondent was told an unsent survey stays theirs: not queued, opened, coded or exported."""
    from impactmodel.coding import services
    from impactmodel.fieldwork.models import ResponseMode, ResponseStatus

    rnd = make_round()
    borough = make_authority(round=rnd)
    unsent = make_answer(rnd, borough, "Draft words the parent has not sent",
                         mode=ResponseMode.SELF, status=ResponseStatus.IN_PROGRESS)
    sent = make_answer(rnd, borough, "Words the parent sent", mode=ResponseMode.SELF,
                       status=ResponseStatus.COMPLETE)
    interview = make_answer(rnd, borough, "Notes of an interview still going on",
                            status=ResponseStatus.IN_PROGRESS)
    user = auth.login(Role.RESEARCHER, assigned=[borough])
    queue = client.get(f"/coding/?round={rnd.id}&status=all").get_data(as_text=True)
    assert "Words the parent sent" in queue and "Notes of an interview" in queue
    assert "Draft words" not in queue
    with app.app_context(), pytest.raises(LookupError):
        services.answer_context(session, user, unsent.id)
    for url in (f"/coding/answers/{unsent.id}", f"/coding/answers/{unsent.id}/panel",
                f"/coding/answers/{unsent.id}/codings"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/coding/answers/{unsent.id}/codings", json={"code": "L1.tools"}).status_code == 404
    assert client.post(f"/coding/answers/{unsent.id}/memos", json={"text": "A note"}).status_code == 404
    assert session.scalar(sa.select(sa.func.count()).select_from(Coding)
                          .where(Coding.answer_id == unsent.id)) == 0
    # The interview in progress is the researcher's own notes: codable as they go.
    for answer in (interview, sent):
        r = client.post(f"/coding/answers/{answer.id}/codings", json={"code": "L1.tools"})
        assert r.status_code == 201 and r.get_json()["coding"]["agreed"] is True
    import io
    import zipfile
    z = zipfile.ZipFile(io.BytesIO(client.get(f"/coding/rounds/{rnd.id}/export.qdpx").data))
    sources = [z.read(n).decode() for n in z.namelist() if n.startswith("sources/")]
    assert sorted(sources) == sorted(["Notes of an interview still going on", "Words the parent sent"])
