"""What readers see on the coding pages: labels not raw values, counts that add up."""
from __future__ import annotations

import re

import pytest

from impactmodel.auth.models import Role
from impactmodel.coding import queries, services
from tests.conftest import ENGINES, PASSWORD


def _login(client, user):
    client.post("/logout")
    client.post("/login", data={"email": user.email, "password": PASSWORD})


def _named(session, user, name):
    user.name = name
    session.commit()
    return user


def _section(html: str, start: str, end: str) -> str:
    return html[html.index(start):html.index(end, html.index(start))]


def test_double_coding_page_separates_waiting_from_done(app, client, session, make_round, make_authority,
                                                        make_user, make_answer, make_respondent):
    rnd = make_round()
    borough = make_authority(round=rnd)
    a = _named(session, make_user(Role.RESEARCHER, assigned=[borough]), "Ann First")
    b = _named(session, make_user(Role.RESEARCHER, assigned=[borough]), "Bea Second")
    parent = make_respondent(rnd, borough, "parent", reference="SECRET-REF-9")
    answers = [make_answer(rnd, borough, f"Answer text {i}.", respondent=parent if i == 0 else None,
                           role="parent" if i == 0 else "practitioner", question="impact" if i else "features")
               for i in range(4)]
    with app.app_context():
        for x in answers:
            services.add_coding(session, a, x.id, "L1.tools", None, 0, 6)
        services.draw_double_sample(session, a, rnd.id, b.id, 1.0, seed=3)
        for x in answers[:3]:          # three coded blind, one still waiting
            services.add_coding(session, b, x.id, "L1.tools", None, 0, 6)
            services.finish_second_coding(session, b, x.id)
        services.reconcile(session, a, answers[2].id, {("L1.tools", "positive")})

    _login(client, b)
    html = client.get(f"/coding/double?round={rnd.id}").get_data(as_text=True)
    summary = re.sub(r"\s+", " ", _section(html, 'class="double-summary"', "</p>"))
    assert ("4 answers were drawn for you: <strong>1 waiting for your blind coding</strong>, "
            "2 coded blind and waiting to be reconciled by another coder, and 1 reconciled.") in summary
    waiting = _section(html, 'id="waiting-list"', "</table>")
    done = _section(html, 'id="done-list"', "</table>")
    # Each item names its question and role, never the respondent or a bare answer number.
    assert waiting.count("<tr>") == 2 and "What difference has integrated working made" in waiting
    assert done.count("<tr>") == 3 and "Which features of your authority helped" in done
    assert "Parent or carer" in done and "done" not in waiting
    assert "SECRET-REF-9" not in html and not re.search(r">Answer \d+<", html)
    assert "<details" in html and 'class="double-done"' in html       # the done ones are folded away
    # The progress table counts the same answers, and says how the columns add up.
    row = _section(_section(html, 'id="progress"', "</table>"), "Bea Second", "</tr>")
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["4", "1", "3", "1"]
    assert "(you)" in row


def test_double_coding_page_explains_an_empty_list(app, client, session, make_round, make_authority,
                                                    make_user, make_answer):
    rnd, other = make_round("Spring"), make_round("Autumn")
    borough = make_authority(round=rnd)
    make_authority(round=other)
    a = make_user(Role.RESEARCHER, assigned=[borough])
    b = make_user(Role.RESEARCHER, assigned=[borough])
    answer = make_answer(rnd, borough, "The panel meets weekly.")
    with app.app_context():
        services.add_coding(session, a, answer.id, "L1.tools", None, 0, 3)
    _login(client, b)
    html = client.get(f"/coding/double?round={rnd.id}").get_data(as_text=True)
    assert "No answer has been drawn for you in Spring" in html
    assert 'href="#draw-title"' in html and 'id="draw-title"' in html
    assert 'id="waiting-list"' not in html and "Waiting for your blind coding (0)" in html

    with app.app_context():
        services.draw_double_sample(session, a, rnd.id, b.id, 1.0, seed=1)
    # From another round, the page points to the work waiting elsewhere.
    html = client.get(f"/coding/double?round={other.id}").get_data(as_text=True)
    assert f'href="/coding/double?round={rnd.id}">1 answer in Spring</a>' in html
    with app.app_context():
        services.finish_second_coding(session, b, answer.id, no_code_applies=True)
    html = client.get(f"/coding/double?round={rnd.id}").get_data(as_text=True)
    assert "you have coded all 1 answer drawn for you in Spring" in html
    assert "1 answer was drawn for you" in html and "disagreements</a> page" in html


def test_question_filter_labels_are_distinct():
    long_start = "Would you like to tell us more about the difference it has made to "
    texts = {"child_more": long_start + "your child?", "family_more": long_start + "you and your family?",
             "a": "Same words", "b": "Same words", "short": "What changed?"}
    instruments = {"child_more": {"Parents' and carers' survey"}, "family_more": {"Parents' and carers' survey"},
                   "a": {"Manager interview"}, "b": {"Manager interview"}, "short": {"Child survey", "DCS interview"}}
    choices = queries.question_choices(texts, instruments)
    labels = [label for _k, label, _t in choices]
    assert len(set(labels)) == len(labels) == 5
    by_key = {k: (label, full) for k, label, full in choices}
    assert by_key["child_more"][0].startswith("Parents' and carers' survey: Would you like")
    assert by_key["child_more"][0].endswith("your child?") and by_key["family_more"][0].endswith("your family?")
    assert len(by_key["family_more"][0]) < len("Parents' and carers' survey: " + texts["family_more"])
    assert by_key["family_more"][1] == texts["family_more"]          # the whole question, as a tooltip
    assert by_key["a"][0] == "Manager interview: Same words [a]"
    assert by_key["short"][0] == "Child survey; DCS interview: What changed?"


def test_queue_and_answer_show_labels_names_and_plurals(app, client, session, make_round, make_authority,
                                                        make_user, make_answer, make_respondent):
    rnd = make_round()
    borough = make_authority(round=rnd)
    coder = _named(session, make_user(Role.RESEARCHER, email="cara@example.org", assigned=[borough]), "Cara Coder")
    parent = make_respondent(rnd, borough, "parent", key_group="lac")
    answer = make_answer(rnd, borough, "The key worker listened.", role="parent", respondent=parent)
    with app.app_context():
        services.add_coding(session, coder, answer.id, "L1.tools", None, 0, 7)
        services.add_memo(session, coder, answer.id, "A memo.")
    _login(client, coder)
    queue = client.get(f"/coding/?round={rnd.id}&status=all").get_data(as_text=True)
    assert "<td>Looked-after children</td>" in queue and "<td>lac</td>" not in queue
    assert "Parent or carer interview: What difference" in queue      # the question filter names its instrument
    page = client.get(f"/coding/answers/{answer.id}").get_data(as_text=True)
    meta = _section(page, '<p class="meta">', "</p>")
    assert "key group: Looked-after children" in meta and "lac" not in meta
    card = _section(page, 'class="muted coder"', "</span>")
    assert "Cara Coder" in card and "cara@example.org" not in page     # a researcher sees names only
    assert "Cara Coder" in _section(page, 'class="memos"', "</ul>")

    admin = make_user(Role.ADMIN)
    _login(client, admin)
    page = client.get(f"/coding/answers/{answer.id}").get_data(as_text=True)
    assert 'class="muted coder" title="cara@example.org">Cara Coder</span>' in page


def test_disagreements_count_agreed_answers_in_words(app, client, session, double_coded_pair):
    rnd, a = double_coded_pair
    _login(client, a)
    html = client.get(f"/coding/disagreements?round={rnd.id}").get_data(as_text=True)
    assert "1 double-coded answer has identical codes" in html and "(s)" not in html
    settled = client.post(f"/coding/rounds/{rnd.id}/reconcile-agreed", follow_redirects=True)
    assert "1 answer on which the coders agreed was settled." in settled.get_data(as_text=True)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_queue_filters_by_key_group(client, session, make_round, make_authority, make_user, make_answer,
                                    make_respondent):
    rnd = make_round()
    borough = make_authority(round=rnd)
    coder = make_user(Role.RESEARCHER, assigned=[borough])
    for kg, text in (("lac", "Looked after: the panel met."), ("asd", "Autism: the school adapted.")):
        make_answer(rnd, borough, text, role="parent", respondent=make_respondent(rnd, borough, "parent",
                                                                                   key_group=kg))
    make_answer(rnd, borough, "No key group: a practitioner's answer.")
    _login(client, coder)
    lac = client.get(f"/coding/?round={rnd.id}&key_group=lac").get_data(as_text=True)
    assert "the panel met" in lac and "the school adapted" not in lac and "No key group" not in lac
    assert '<option value="lac" selected>' in lac
    everyone = client.get(f"/coding/?round={rnd.id}").get_data(as_text=True)
    assert all(t in everyone for t in ("the panel met", "the school adapted", "No key group"))
    # A key group the round does not have finds nothing, and says so rather than failing.
    none = client.get(f"/coding/?round={rnd.id}&key_group=nope")
    assert none.status_code == 200 and "the panel met" not in none.get_data(as_text=True)
