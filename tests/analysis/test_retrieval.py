"""The retrieval page's paging and blindness."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from impactmodel.analysis import retrieval
from impactmodel.auth.models import Role
from impactmodel.coding import services as coding
from impactmodel.consortium import services as consortium
from impactmodel.fieldwork import interviews
from impactmodel.fieldwork import responses
from impactmodel.fieldwork.models import Answer
from impactmodel.interchange import csvio
from tests.conftest import ENGINES


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_pages_follow_one_another_without_gaps_or_repeats(app, session, client, auth):
    rows = "".join(f"Northshire County Council,p-{i:02d},practitioner,L1.tools,positive,,Excerpt number {i}.,r\n"
                   for i in range(7))
    csvio.import_coded(session, io.StringIO("authority,respondent,role,code,valence,key_group,excerpt,coder\n"
                                            + rows), "Round 9", actor="test")
    rnd = consortium.get_or_create_round(session, "Round 9")
    flt = retrieval.ExcerptFilter(round_id=rnd.id, code_id="L1.tools")
    seen, after = [], None
    while True:
        page, after = retrieval.excerpts(session, None, flt, after, page_size=3)
        seen += [e.excerpt for e in page]
        if after is None:
            break
    assert seen == [f"Excerpt number {i}." for i in range(7)]

    auth.login(Role.ADMIN)
    first = client.get(f"/retrieval?round={rnd.id}&code=L1.tools").get_data(as_text=True)
    assert "7 excerpts on this page." in first and "Excerpt number 6." in first
    assert "Next" not in first        # 7 fit on one page of 50
    page, after = retrieval.excerpts(session, None, flt, None, page_size=3)
    later = client.get(f"/retrieval?round={rnd.id}&code=L1.tools&after={after}").get_data(as_text=True)
    assert "Excerpt number 3." in later and "Excerpt number 2." not in later and "First page" in later


def test_a_blind_second_coder_sees_no_excerpt_of_an_answer_drawn_for_them(app, session, client, auth,
                                                                            make_round, make_authority, make_user):
    rnd = make_round("Round 4")
    north = make_authority("Northshire County Council", round=rnd)
    first, second = (make_user(Role.RESEARCHER, assigned=[north]) for _ in range(2))
    with app.app_context():
        interview = interviews.start_interview(session, first, round=rnd, authority=north, role="practitioner")
        responses.save_answers(session, first, interview, [{"key": "l1_changes", "text": "Panels meet weekly."}])
        answer = session.scalar(sa.select(Answer).where(Answer.response_id == interview.id))
        coding.add_coding(session, first, answer.id, "L1.tools", None, 0, 6)
        coding.draw_double_sample(session, first, rnd.id, second.id, 1.0, seed=1)
    auth.login(second)
    url = f"/retrieval?round={rnd.id}&code=L1.tools"
    assert "Panels" not in client.get(url).get_data(as_text=True)
    with app.app_context():
        coding.finish_second_coding(session, second, answer.id, no_code_applies=True)
    assert "Panels" in client.get(url).get_data(as_text=True)


def _import_two_authorities(session):
    rows = "".join(f"{authority},{role[0]}{group}-{i},{role},L1.tools,positive,{group},{authority[:5]} {role} {i}.,r\n"
                   for authority in ("Northshire County Council", "Southshire County Council")
                   for role, group in (("practitioner", ""), ("parent", "lac"), ("parent", "asd"))
                   for i in range(3))
    csvio.import_coded(session, io.StringIO("authority,respondent,role,code,valence,key_group,excerpt,coder\n"
                                            + rows), "Round 9", actor="test")
    rnd = consortium.get_or_create_round(session, "Round 9")
    return rnd, consortium.find_authority_by_name(session, "Southshire County Council")


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_filters_by_authority_role_and_key_group_keep_exactly_their_excerpts(app, session):
    rnd, south = _import_two_authorities(session)
    key_group = consortium.key_group(session, rnd, "lac")

    def shown(**filters):
        page, _after = retrieval.excerpts(session, None, retrieval.ExcerptFilter(rnd.id, "L1.tools", **filters))
        return sorted(e.excerpt for e in page)

    assert shown(authority_id=south.id) == sorted(f"South {role} {i}." for role in ("practitioner", "parent")
                                                  for i in range(3) for _ in range(1 if role == "practitioner" else 2))
    assert shown(authority_id=south.id, role="practitioner") == [f"South practitioner {i}." for i in range(3)]
    assert shown(authority_id=south.id, key_group_id=key_group.id) == [f"South parent {i}." for i in range(3)]
    assert shown(role="practitioner") == sorted(f"{a} practitioner {i}." for a in ("North", "South")
                                                for i in range(3))


def test_an_authoritys_excerpts_are_read_through_its_respondents_codings_alone(app, session):
    """The filtered page looks up the authority's respondents and reads their codings by
    index, rather than scanning every coding of the code (SQLite's plan)."""
    rnd, south = _import_two_authorities(session)
    flt = retrieval.ExcerptFilter(rnd.id, "L1.tools", authority_id=south.id, role="practitioner")
    assert retrieval.through_respondents(session, flt)
    query = retrieval.excerpts_query(None, flt, after=None, page_size=retrieval.PAGE_SIZE, through=True)
    compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    plan = " | ".join(row[-1] for row in session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_coding_round_agreed (round_id=? AND agreed=? AND respondent_id=? AND code_id=?)" in plan, plan
    assert "ix_coding_code_round_agreed" not in plan, plan


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_both_ways_of_finding_a_page_give_the_same_excerpts(app, session):
    """Gathered through the chosen respondents or walked through the code's codings, every
    filter gives the same pages; and each filter takes the way meant for it."""
    rows = "".join(f"{authority},{role[0]}{group}-{i},{role},L4.information,{valence},{group},{authority[:5]} {role} {i}.,r\n"
                   for authority in ("Northshire County Council", "Southshire County Council")
                   for role, group, valence in (("practitioner", "", "positive"), ("parent", "lac", "to_develop"),
                                                ("parent", "asd", "positive"), ("dcs", "", "positive"))
                   for i in range(3))
    csvio.import_coded(session, io.StringIO("authority,respondent,role,code,valence,key_group,excerpt,coder\n"
                                            + rows), "Round 9", actor="test")
    rnd = consortium.get_or_create_round(session, "Round 9")
    south = consortium.find_authority_by_name(session, "Southshire County Council")
    lac = consortium.key_group(session, rnd, "lac").id
    filters = [{}, {"valence": "to_develop"}, {"role": "parent"}, {"role": "dcs", "valence": "positive"},
               {"key_group_id": lac}, {"role": "parent", "key_group_id": lac, "valence": "to_develop"},
               {"authority_id": south.id}, {"authority_id": south.id, "role": "practitioner"}]
    for f in filters:
        flt = retrieval.ExcerptFilter(rnd.id, "L4.information", **f)
        pages = {}
        chooses_respondents = {"authority_id", "role", "key_group_id"} & set(f)
        for through in (False, True) if chooses_respondents else (False,):
            seen, after = [], None
            while True:
                query = retrieval.excerpts_query(None, flt, after, page_size=2, through=through)
                found = session.execute(query).all()
                seen += [row.excerpt for row in found[:2]]
                after = found[1].id if len(found) > 2 else None
                if after is None:
                    break
            pages[through] = seen
        assert pages[False] and pages[False] == pages.get(True, pages[False]), f
        page, _after = retrieval.excerpts(session, None, flt, None, page_size=50)
        assert [e.excerpt for e in page] == pages[False], f
    by_valence = sorted(e.excerpt for e in retrieval.excerpts(
        session, None, retrieval.ExcerptFilter(rnd.id, "L4.information", valence="to_develop"))[0])
    assert by_valence == sorted(f"{a} parent {i}." for a in ("North", "South") for i in range(3))
    # A role few answered as is gathered through its respondents; no filter, or a valence alone, walks.
    assert retrieval.through_respondents(session, retrieval.ExcerptFilter(rnd.id, "L4.information", role="dcs"))
    assert not retrieval.through_respondents(session, retrieval.ExcerptFilter(rnd.id, "L4.information"))
    assert not retrieval.through_respondents(session, retrieval.ExcerptFilter(rnd.id, "L4.information",
                                                                              valence="to_develop"))


def test_a_valence_is_walked_through_the_index_that_holds_it(app, session):
    """SQLite's plan: one valence of a code is read in id order from
    ix_coding_code_round_agreed_valence, not by reading every coding of the code."""
    rnd, _south = _import_two_authorities(session)
    flt = retrieval.ExcerptFilter(rnd.id, "L1.tools", valence="to_develop")
    query = retrieval.excerpts_query(None, flt, after=None, page_size=retrieval.PAGE_SIZE)
    compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    plan = " | ".join(row[-1] for row in session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_coding_code_round_agreed_valence (code_id=? AND round_id=? AND agreed=? AND valence=?)" in plan, plan
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan
