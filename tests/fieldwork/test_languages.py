"""Respondents in Welsh or English: the page's language, the switch, translated instruments,
and the language each response and answer records."""
from __future__ import annotations

import html
import re
import shutil
from datetime import date

import pytest
import sqlalchemy as sa

from impactmodel.app import create_app
from impactmodel.fieldwork import invitations, responses, surveys
from impactmodel.fieldwork.instrument_translations import (completeness, load_translations,
                                                           parse_translation, translate)
from impactmodel.fieldwork.instruments import INSTRUMENTS_DIR, InstrumentError, load_instruments
from impactmodel.fieldwork.models import Answer, Response
from tests.conftest import ENGINES, config_for

WELSH = {"Accept-Language": "cy-GB,cy;q=0.9,en-GB;q=0.6"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


def _link(session, fw, role="parent"):
    return invitations.create_invitations(session, "cli", round=fw.round, authority=fw.authority,
                                       role=role, count=1)[0]


def _text(response) -> str:
    """A page's text with character references read, as a browser shows it."""
    return html.unescape(response.get_data(as_text=True))


def _lang(page: str) -> str:
    return re.search(r'<html lang="([^"]+)"', page).group(1)


def _h1(page: str) -> str:
    return re.search(r"<h1>(.*?)</h1>", page, re.S).group(1).strip()


# --- Which language a page speaks -------------------------------------------------------------

def test_a_welsh_browser_gets_welsh_respondent_pages_and_staff_pages_stay_english(client, auth, session, fw):
    invitation = _link(session, fw)
    page = _text(client.get(f"/s/{invitation.token}", headers=WELSH))
    assert _lang(page) == "cy"
    assert _h1(page) == "Cyn i chi ddechrau"
    assert "Arolwg rhieni a gofalwyr" in page                       # the instrument's own words
    assert 'hreflang="en-GB">English</a>' in page and ">Cymraeg</a>" not in page
    code = _text(client.get("/s", headers=WELSH))
    assert _lang(code) == "cy" and _h1(code) == "Teipiwch y cod o'ch cerdyn"
    english = _text(client.get(f"/s/{invitation.token}", headers=ENGLISH))
    assert _lang(english) == "en-GB" and _h1(english) == "Before you start"
    assert 'lang="cy" hreflang="cy">Cymraeg</a>' in english
    # No Accept-Language at all: English.
    assert _lang(_text(client.get(f"/s/{invitation.token}"))) == "en-GB"
    auth.login()
    staff = _text(client.get("/fieldwork/instruments", headers=WELSH))
    assert _lang(staff) == "en-GB" and "Instruments" in _h1(staff)


def test_the_switch_keeps_the_choice_for_the_session_both_ways(client, session, fw):
    invitation = _link(session, fw)
    base = f"/s/{invitation.token}"
    switched = client.get(f"{base}?lang=cy", headers=ENGLISH)
    assert switched.status_code == 303 and switched.headers["Location"] == base
    assert _lang(_text(client.get(base, headers=ENGLISH))) == "cy"
    assert _lang(_text(client.get("/s", headers=ENGLISH))) == "cy"   # every page
    client.get(f"{base}?lang=en", headers=WELSH)
    assert _lang(_text(client.get(base, headers=WELSH))) == "en-GB"
    # An unknown language changes nothing, and is not echoed back.
    odd = client.get(f"{base}?lang=%3Cscript%3E", headers=WELSH)
    assert odd.status_code == 303 and odd.headers["Location"] == base
    assert _lang(_text(client.get(base, headers=WELSH))) == "en-GB"
    # The other parts of an address survive the switch.
    kept = client.get("/s?code=ACDE&lang=cy")
    assert kept.headers["Location"] == "/s?code=ACDE"


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_responses_and_answers_record_the_language_they_were_given_in(client, session, fw):
    invitation = _link(session, fw)
    base = f"/s/{invitation.token}"
    assert client.post(base, data={"consent": "yes", "mode": "self"}, headers=WELSH).status_code == 302
    session.expire_all()
    response = surveys.survey_response(session, invitation)
    assert response.language == "cy"
    client.post(f"{base}/1", data={"go": "next", "support_helpful": "quite"}, headers=WELSH)
    client.get(f"{base}?lang=en")
    saved = client.post(f"{base}/2/save", data={"child_difference_more": "He sleeps better now",
                                                "seq": "1"})
    assert saved.status_code == 200
    session.expire_all()
    languages = dict(session.execute(sa.select(Answer.question_key, Answer.language)).all())
    assert languages == {"support_helpful": "cy", "child_difference_more": "en"}
    assert session.get(Response, response.id).language == "en"     # the last language answered in


def test_a_link_reopened_elsewhere_keeps_the_language_it_was_begun_in(app, client, session, fw):
    invitation = _link(session, fw, role="child")
    base = f"/s/{invitation.token}"
    client.post(base, data={"consent": "yes", "assent": "yes", "mode": "self"}, headers=WELSH)
    other_device = app.test_client()
    back = _text(other_device.get(base, headers=ENGLISH))
    assert _lang(back) == "cy" and _h1(back) == "Croeso nôl"
    step = _text(other_device.get(f"{base}/2", headers=ENGLISH))
    assert "Rydw i'n teimlo'n hapusach" in step and "Tudalen 2 o 4" in step
    other_device.get(f"{base}?lang=en")                               # unless they choose again
    assert _lang(_text(other_device.get(base))) == "en-GB"


def test_welsh_messages_quote_the_welsh_words_on_the_page(client, session, fw):
    invitation = _link(session, fw)
    base = f"/s/{invitation.token}"
    client.get(f"{base}?lang=cy")
    refused = client.post(base, data={"mode": "self"})
    assert "Ticiwch y blwch hwn i ddweud eich bod yn cytuno" in _text(refused)
    client.post(base, data={"consent": "yes", "mode": "self"})
    page = client.post(f"{base}/2", data={"go": "next", "child_difference": ["no_difference", "L3.cyp.safer"]})
    shown = _text(page)
    assert page.status_code == 422
    assert "Fe diciwyd 'Dim gwahaniaeth eto' ac atebion eraill hefyd" in shown
    assert "Mae problem" in shown
    save = client.post(f"{base}/2/save", data={"child_difference": ["no_difference", "L3.cyp.safer"]})
    assert save.status_code == 422 and "Fe diciwyd" in save.get_json()["errors"]["child_difference"]
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count()).select_from(Answer)) == 0


def test_every_respondent_page_of_a_welsh_survey_is_in_welsh(client, session, fw):
    """Through a whole parent survey in Welsh, no English words of the page's own remain."""
    invitation = _link(session, fw)
    base = f"/s/{invitation.token}"
    client.get(f"{base}?lang=cy")
    english_words = ["Before you start", "Next", "Back", "Part ", "Check your answers", "Send my answers",
                     "Something else", "Tick all that apply", "You can stop at any time", "Thank you"]
    pages = [_text(client.get(base))]
    client.post(base, data={"consent": "yes", "mode": "self"})
    idef = responses.instrument_for_role("parent")
    for step in range(1, len(idef.sections) + 1):
        pages.append(_text(client.get(f"{base}/{step}")))
    client.post(f"{base}/1", data={"go": "next", "support_helpful": "very"})
    pages.append(_text(client.get(f"{base}/check")))
    pages.append(_text(client.get(base)))               # welcome back
    client.post(f"{base}/check")
    pages.append(_text(client.get(f"{base}/thanks")))
    pages.append(_text(client.get(base)))               # already sent
    for page in pages:
        assert _lang(page) == "cy"
        visible = re.sub(r"<[^>]+>", " ", page)
        assert [w for w in english_words if w in visible] == [], _h1(page)


def test_a_childs_footer_privacy_notice_and_withdrawal_speak_welsh(client, session, fw):
    """The words every child's page adds (who to talk to, the contact, privacy, withdrawal)."""
    fw.round.research_contact = "Tîm Lleisiau Teulu, 01632 960000"
    fw.round.retain_until = date(2029, 8, 31)
    session.commit()
    invitation = _link(session, fw, role="child")
    base = f"/s/{invitation.token}"
    client.get(f"{base}?lang=cy")
    english_words = ["If you do not feel safe", "Childline for free", "Questions about this research",
                     "What we do with your answers", "I do not want to take part any more",
                     "Who we are", "August", "Read aloud", "delete", "Nobody will mind"]
    consent = _text(client.get(base))
    assert "Os nad wyt ti'n teimlo'n ddiogel" in consent and 'href="tel:08001111">0800 1111</a>' in consent
    assert "Cwestiynau am yr ymchwil hon? Cysylltwch â Tîm Lleisiau Teulu, 01632 960000." in consent
    assert "byddwn ni'n ei drosglwyddo i'r bobl sydd â'r gwaith o gadw plant yn ddiogel" in consent
    privacy = _text(client.get(f"{base}/privacy"))
    assert """<h1 id="privacy-title">Beth rydyn ni'n ei wneud â'ch atebion</h1>""" in privacy
    assert "Rydyn ni'n cadw eich atebion tan 31 Awst 2029." in privacy
    client.post(base, data={"consent": "yes", "assent": "yes", "mode": "self"})
    step = _text(client.get(f"{base}/1"))
    assert "Dydw i ddim eisiau cymryd rhan mwyach" in step
    withdraw = _text(client.get(f"{base}/withdraw"))
    assert "Wyt ti eisiau stopio cymryd rhan?" in withdraw and "Ydw, dileu fy atebion" in withdraw
    done = client.post(f"{base}/withdraw", data={"confirm": "yes"})
    gone = _text(done)
    assert done.status_code == 200 and _h1(gone) == "Mae eich atebion wedi'u dileu"
    for page in (consent, privacy, step, withdraw, gone):
        assert _lang(page) == "cy"
        visible = re.sub(r"<[^>]+>", " ", page)
        assert [w for w in english_words if w in visible] == []
    # The same pages in English keep their English words.
    english = _text(client.get("/s/privacy?lang=en", follow_redirects=True))
    assert "What we do with your answers" in english and "Who we are" in english


# --- Translated instruments ---------------------------------------------------------------------

def test_parent_and_child_surveys_are_complete_in_welsh():
    instruments = load_instruments()
    translations = load_translations(instruments)
    for key in ("parent_survey", "child_survey"):
        assert completeness(instruments[key], translations[(key, "cy")]) == []
        assert "fluent Welsh speaker" in translations[(key, "cy")].review
    assert completeness(instruments["dcs_interview"], translations.get(("dcs_interview", "cy")))[:2] == \
        ["title", "intro"]


def test_translations_change_words_only(tmp_path):
    instruments = load_instruments()
    parent = instruments["parent_survey"]
    welsh = translate(parent, load_translations(instruments)[("parent_survey", "cy")])
    assert welsh.checksum == parent.checksum
    assert welsh.title == "Arolwg rhieni a gofalwyr"
    for q_en, q_cy in zip(parent.questions.values(), welsh.questions.values()):
        assert (q_en["key"], q_en["type"]) == (q_cy["key"], q_cy["type"])
        assert [(o["id"], o.get("code"), o.get("valence")) for o in q_en.get("options", [])] == \
            [(o["id"], o.get("code"), o.get("valence")) for o in q_cy.get("options", [])]
    assert parent.questions["joined_up"]["label"].startswith("Did the people")   # English untouched


@pytest.mark.parametrize("text, problem", [
    ("instrument: parent_survey\nlanguage: cy\nreview: Draft\nquestions: {nonsense: {label: Beth}}",
     "question 'nonsense' label is not in the instrument 'parent_survey'"),
    ("instrument: parent_survey\nlanguage: cy\nreview: Draft\n"
     "questions: {support_helpful: {options: {extremely: Iawn}}}",
     "question 'support_helpful' options 'extremely' is not in the instrument"),
    ("instrument: parent_survey\nlanguage: fr\nreview: Draft\n", "'language' must be one of cy"),
    ("instrument: parent_survey\nlanguage: cy\n", "'review' must say who has checked the words"),
    ("instrument: parent_survey\nlanguage: cy\nreview: Draft\ntitle: ['a']", "title must be text"),
    ("instrument: child_survey\nlanguage: cy\nreview: Draft\n", "'instrument' must be 'parent_survey'"),
])
def test_a_translation_that_does_not_fit_its_instrument_is_refused(text, problem):
    with pytest.raises(InstrumentError, match=re.escape(problem)):
        parse_translation(text, "parent_survey.cy.yaml", load_instruments()["parent_survey"])


def test_a_stale_translation_stops_the_app_naming_the_file(tmp_path, database_url):
    folder = tmp_path / "instruments"
    shutil.copytree(INSTRUMENTS_DIR, folder)
    welsh = folder / "child_survey.cy.yaml"
    welsh.write_text(welsh.read_text(encoding="utf-8").replace("  help_feel:", "  help_felt:"),
                     encoding="utf-8")
    with pytest.raises(InstrumentError, match="child_survey.cy.yaml: question 'help_felt'"):
        create_app(config_for(database_url, INSTRUMENTS_DIR=str(folder)))


def test_the_languages_command_says_where_each_instrument_is_complete(runner):
    result = runner.invoke(args=["instruments", "languages"])
    assert result.exit_code == 0, result.output
    assert "parent_survey: complete in English, Cymraeg" in result.output
    assert "child_survey: complete in English, Cymraeg" in result.output
    assert re.search(r"dcs_interview: complete in English\n  Cymraeg \(cy\) lacks \d+: title, intro",
                     result.output)


def test_an_expired_form_is_explained_in_the_respondents_language(database_url, session, fw):
    app = create_app(config_for(database_url, WTF_CSRF_ENABLED=True))
    invitation = _link(session, fw)
    client = app.test_client()
    page = client.post(f"/s/{invitation.token}", data={"consent": "yes", "mode": "self"}, headers=WELSH)
    assert page.status_code == 400
    assert _lang(_text(page)) == "cy" and _h1(_text(page)) == "Mae'r ffurflen hon wedi dod i ben"
    app.extensions["impactmodel.engine"].dispose()
