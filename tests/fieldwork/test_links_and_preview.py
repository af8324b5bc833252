"""Researchers' tools: a batch of survey links as CSV and XLSX, printed cards, and the
preview of an instrument as a respondent sees it."""
from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from markupsafe import escape
from openpyxl import load_workbook

from impactmodel import sheets
from impactmodel.audit import AuditEvent
from impactmodel.consortium.models import Respondent
from impactmodel.fieldwork import invitations, links, responses, surveys
from impactmodel.fieldwork.models import Answer, Invitation, Response
from tests.conftest import ENGINES


def _batch(session, fw, count=3, **kw):
    return invitations.create_invitations(session, fw.admin, round=fw.round, authority=fw.authority,
                                       role="parent", count=count, **kw)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_links_export_as_csv_and_xlsx_with_each_links_state(client, auth, session, fw):
    made = _batch(session, fw, count=3, key_group="asd", case="ASD-07")
    opened, sent, fresh = made
    surveys.begin_survey(session, opened, consent_by="self")
    surveys.submit_survey(session, sent, {"support_helpful": {"value": "quite"}})
    auth.login(fw.researcher)

    got = client.get(f"/fieldwork/invitations/{fresh.batch}/links.csv")
    assert got.status_code == 200 and got.mimetype == "text/csv"
    assert f"survey-links-{fresh.batch}.csv" in got.headers["Content-Disposition"]
    table = list(sheets.csv_rows(got.get_data(as_text=True)))
    assert table[0] == links.COLUMNS
    by_card = {row[0]: dict(zip(links.COLUMNS, row)) for row in table[1:]}
    assert sorted(by_card) == ["1", "2", "3"]
    session.expire_all()
    for card, inv in zip(("1", "2", "3"), made):
        row = by_card[card]
        assert row["short_code"] == invitations.format_code(inv.code)
        assert row["link"] == f"http://localhost/s/{inv.token}"
        assert (row["role"], row["key_group"], row["case"]) == ("parent", "asd", "ASD-07")
        assert row["expires"] == inv.expires_at.strftime("%Y-%m-%d %H:%M")
    assert [by_card[c]["status"] for c in "123"] == ["started", "submitted", "not_opened"]
    references = [by_card[c]["reference"] for c in "123"]
    assert references[0] == session.get(Invitation, opened.id).respondent.reference != ""
    assert references[2] == ""

    got = client.get(f"/fieldwork/invitations/{fresh.batch}/links.xlsx")
    assert got.status_code == 200
    ws = load_workbook(io.BytesIO(got.data)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0] == links.COLUMNS
    assert [[v or "" for v in r[1:7]] for r in values[1:]] == [r[1:7] for r in table[1:]]
    expires = session.get(Invitation, opened.id).expires_at.replace(tzinfo=None)
    assert values[1][0] == 1 and abs(values[1][7] - expires) < timedelta(seconds=1)
    assert not [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]

    # Each download of these credentials is in the audit log, without a token in it.
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "invitation.export")).all()
    assert [(e.details["format"], e.details["count"]) for e in events] == [("csv", 3), ("xlsx", 3)]
    assert not any(inv.token in str(e.details) for e in events for inv in made)


def test_links_of_another_authority_or_an_unknown_batch_are_refused(client, auth, session, fw):
    theirs = invitations.create_invitations(session, fw.admin, round=fw.round, authority=fw.other,
                                         role="parent", count=2)
    auth.login(fw.researcher)
    assert client.get(f"/fieldwork/invitations/{theirs[0].batch}/links.csv").status_code == 403
    assert client.get(f"/fieldwork/invitations/{theirs[0].batch}/links.xlsx").status_code == 403
    assert client.get("/fieldwork/invitations/nosuchbatch/links.csv").status_code == 404
    mine = _batch(session, fw, count=1)
    assert client.get(f"/fieldwork/invitations/{mine[0].batch}/links.pdf").status_code == 404
    with pytest.raises(PermissionError):     # the service checks too, not only the page
        links.export_batch(session, fw.researcher, theirs, "csv", "http://localhost")
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "invitation.export")) == 0


def test_cards_show_the_expiry_and_never_break_the_host(client, auth, session, fw, app):
    made = _batch(session, fw, count=2, days=30)
    old = invitations.create_invitations(session, fw.admin, round=fw.round, authority=fw.authority,
                                      role="parent", count=1)[0]
    old.code = None     # links made before short codes print their whole address
    session.commit()
    auth.login(fw.researcher)
    html = client.get(f"/fieldwork/invitations/{made[0].batch}").get_data(as_text=True)
    expiry = made[0].expires_at.strftime("%-d %B %Y")
    assert html.count(f"Use it by {expiry}.") == 2
    assert '<span class="invite-host">localhost</span><wbr>/s</span>' in html
    assert "links.csv" in html and "links.xlsx" in html
    whole = client.get(f"/fieldwork/invitations/{old.batch}").get_data(as_text=True)
    assert (f'<p class="invite-url long"><span class="invite-host">localhost</span><wbr>/s<wbr>/{old.token}</p>'
            in whole)
    # A host with a port and a path prefix: the host stays whole, a break may come only at a slash.
    assert links.printed_address("https://surveys.example.org:8443/larc/s") == (
        "surveys.example.org:8443", ["larc", "s"])
    rules = (Path(app.static_folder) / "fieldwork" / "fieldwork.css").read_text(encoding="utf-8")
    assert re.search(r"\.invite-host \{[^}]*white-space: nowrap", rules)
    assert re.search(r"\.invite-url \{[^}]*word-break: normal", rules)


@pytest.mark.parametrize("key, audience", [("parent_survey", "parent"), ("child_survey", "child"),
                                           ("practitioner_interview", "staff")])
def test_preview_shows_every_page_as_a_respondent_sees_it_and_stores_nothing(client, auth, session, fw,
                                                                              key, audience):
    auth.login(fw.researcher)
    listing = client.get("/fieldwork/instruments").get_data(as_text=True)
    assert f'href="/fieldwork/instruments/{key}/preview"' in listing
    idef = responses.loaded_instruments()[key]
    for step, section in enumerate(idef.sections, start=1):
        page = client.get(f"/fieldwork/instruments/{key}/preview" + (f"/{step}" if step > 1 else ""))
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "Preview" in html and "Nothing you choose or type here is stored or sent." in html
        assert str(escape(section["title"])) in html
        for q in section["questions"]:
            assert f'name="{q["key"]}' in html
        assert 'method="post"' not in html and "data-save-url" not in html
        assert ('class="respondent child"' in html) == (audience == "child")
        last = step == len(idef.sections)
        assert (f"/fieldwork/instruments/{key}/preview/{step + 1}" in html) != last
    assert client.get(f"/fieldwork/instruments/{key}/preview/99").status_code == 302
    for model in (Respondent, Response, Answer):
        assert session.scalar(sa.select(sa.func.count()).select_from(model)) == 0


def test_preview_of_an_unknown_instrument_is_not_found(client, auth, fw):
    auth.login(fw.researcher)
    assert client.get("/fieldwork/instruments/nothing/preview").status_code == 404


def test_an_expired_link_is_exported_as_expired(client, auth, session, fw):
    inv = _batch(session, fw, count=1)[0]
    inv.expires_at = inv.created_at - timedelta(days=1)
    session.commit()
    auth.login(fw.admin)
    table = list(sheets.csv_rows(client.get(f"/fieldwork/invitations/{inv.batch}/links.csv")
                                 .get_data(as_text=True)))
    assert table[1][links.COLUMNS.index("status")] == "expired"
