"""The round report's further tables: key groups, features to develop, suggestions, rated
answers, the thirds of the continuum, authority context and response rates."""
from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from impactmodel.auth.models import Role
from impactmodel.consortium.models import Authority, Participation
from impactmodel.consortium import services as consortium
from impactmodel.fieldwork import invitations, surveys
from impactmodel.interchange import tables as round_tables
from impactmodel.scoring import services
from impactmodel.scoring.models import RoundScoring
from tests.conftest import ENGINES
from tests.statements import statements, statements_of_page
from tests.scoring.helpers import FIGURE2, FIGURE3, _coded_rows, import_round, to_csv

COLUMNS = ["authority", "respondent", "role", "code", "valence", "key_group", "excerpt"]


def _with_key_groups(rows):
    """Managers and practitioners alternate between the lac and asd key groups (DCS: none)."""
    out = []
    for authority, ref, role, code, valence, excerpt in rows:
        n = int(ref.rsplit("-", 1)[1])
        kg = "" if role == "dcs" else ("lac" if n % 2 else "asd")
        out.append([authority, ref, role, code, valence, kg, excerpt])
    return out


@pytest.fixture
def report_round(session):
    """Three authorities (two like Figure 2, one like Figure 3) with key groups, parents'
    suggestions and views, context for two, and survey links, scored."""
    rows = (_coded_rows("Northam", FIGURE2, per_member=False) + _coded_rows("Westby", FIGURE2, per_member=False)
            + _coded_rows("Southby", FIGURE3, per_member=True))
    rows = _with_key_groups(rows)
    # Six parents (lac) suggest earlier help; three suggest better communication (too few to show).
    for i in range(6):
        rows.append(["Northam", f"parent-{i + 1}", "parent", "S.earlier_help", "positive", "lac", ""])
        rows.append(["Northam", f"parent-{i + 1}", "parent", "L3.cyp.confidence", "positive", "lac", ""])
    for i in range(3):
        rows.append(["Southby", f"parent-{i + 1}", "parent", "S.communication", "positive", "asd", ""])
    levels = []
    for name, spec in (("Northam", FIGURE2), ("Westby", FIGURE2), ("Southby", FIGURE3)):
        for role, values in spec["levels"].items():
            levels += [[name, f"{role}-{i + 1}", role, f"{v:g}"] for i, v in enumerate(values)]
    rnd = import_round(session, "Round 1", to_csv(COLUMNS, rows),
                       to_csv(["authority", "respondent", "role", "level"], levels))
    authorities = {a.name: a for a in session.scalars(sa.select(Authority))}
    # Survey links in Northam: 7 for parents of looked-after children, 5 sent back, 1 begun only.
    links = invitations.create_invitations(session, "test", round=rnd, authority="Northam", role="parent",
                                         count=7, key_group="lac")
    for n, link in enumerate(links[:5]):
        surveys.submit_survey(session, link, {"support_helpful": {"value": "very" if n < 3 else "quite"}})
    surveys.begin_survey(session, links[5], consent_by="self")
    # Two links for children in Southby, neither opened.
    invitations.create_invitations(session, "test", round=rnd, authority="Southby", role="child", count=2)
    for name, (kind, children, since) in {"Northam": ("county", 162_000, 2003),
                                          "Southby": ("london_borough", 57_900, 2007)}.items():
        part = session.scalar(sa.select(Participation).where(Participation.authority_id == authorities[name].id))
        part.authority_type, part.children, part.integrated_since = kind, children, since
    session.commit()
    services.compute_scores(session, "test", rnd, seed=1, n_replicates=50)
    return rnd, authorities


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_report_tables_by_key_group_count_only_its_respondents(client, auth, session, report_round):
    rnd, authorities = report_round
    summary = session.scalar(sa.select(RoundScoring.summary).where(RoundScoring.round_id == rnd.id))
    lac, asd = summary["key_groups"]["lac"], summary["key_groups"]["asd"]
    # Northam's FIGURE2 managers 1 and 3 and practitioners 1 and 3 are lac; 2 and 4 asd.
    assert lac["respondents_by_role"]["manager"] == 2 * 2 + 2 and asd["respondents_by_role"]["manager"] == 1 * 2 + 1
    # Six parents coded, and six more who opened a survey link (five sent it back).
    assert lac["respondents_by_role"]["dcs"] == 0 and lac["respondents_by_role"]["parent"] == 12
    assert lac["table1"]["parent"] == [{"code": "L3.cyp.confidence", "respondents": 6}]
    assert asd["table1"]["parent"] == []
    auth.login(Role.ANALYST)
    whole = _csv(client.get(f"/rounds/{rnd.id}/scores/tables/table1.csv"))
    by_lac = _csv(client.get(f"/rounds/{rnd.id}/scores/tables/table1.csv?key_group=lac"))
    by_asd = _csv(client.get(f"/rounds/{rnd.id}/scores/tables/table1.csv?key_group=asd"))
    assert whole[1][2] == "6" and by_lac[1][2] == "6"
    assert len(by_asd) == 1      # the header only
    impacts_lac = _csv(client.get(f"/rounds/{rnd.id}/scores/tables/impacts.csv?key_group=lac"))
    tools = next(r for r in impacts_lac if r[1] == summary["labels"]["L1.tools"])
    # L1.tools: every Figure 2 manager of lac (2 per authority, 2 authorities) plus Southby's manager-1.
    assert tools[impacts_lac[0].index("Service manager")] == "5"
    page = client.get(f"/rounds/{rnd.id}/report?key_group=lac").get_data(as_text=True)
    assert "count only respondents of this key group" in page and 'value="lac" selected' in page
    # An unknown key group is no filter: the whole round.
    assert 'selected' not in client.get(f"/rounds/{rnd.id}/report?key_group=nope").get_data(as_text=True) \
        .split('id="key-group"')[1].split("</select>")[0]


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_features_to_develop_suggestions_and_thirds(client, auth, session, report_round):
    rnd, _authorities = report_round
    auth.login(Role.ANALYST)
    develop = _csv(client.get(f"/rounds/{rnd.id}/scores/tables/to_develop.csv"))
    assert develop[0] == ["Group", "Rank", "Feature", "Authorities", "Participants"]
    summary = session.scalar(sa.select(RoundScoring.summary).where(RoundScoring.round_id == rnd.id))
    labels = summary["labels"]
    # Practitioners: communication to develop in all three authorities (4 + 4 + 2), leadership too
    # (4 + 4 + 1), co-location in both Figure 2 authorities (4 each), resources in Southby only
    # (2 people: suppressed).
    practitioners = [r for r in develop if r[0] == "Practitioner"]
    assert [r[1:] for r in practitioners[:3]] == [["1", labels["F.communication"], "3", "10"],
                                                  ["2", labels["F.leadership"], "3", "9"],
                                                  ["3", labels["F.co_location"], "2", "8"]]
    assert [labels["F.resources"], "1", "<5"] == next(r[2:] for r in practitioners if r[2] == labels["F.resources"])
    suggestions = _csv(client.get(f"/rounds/{rnd.id}/scores/tables/suggestions.csv"))
    assert suggestions[1:] == [["1", labels["S.earlier_help"], "6", "1"]]       # communication: only 3
    thirds = _csv(client.get(f"/rounds/{rnd.id}/scores/tables/thirds.csv"))
    locality = next(r for r in thirds if r[1] == labels["F.locality_working"] and r[0] == "Feature (positive)")
    # Upper third: one Figure 2 authority, all 8 staff; lower: Southby, its DCS and one manager.
    assert locality[2:] == ["1 of 1", "8", "1.00", "1 of 1", "<5", "hidden", "hidden"]
    assert thirds[1][8] != "hidden" and float(thirds[1][8]) >= 0.5      # largest differences first


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_rated_answers_and_response_rates(client, auth, session, report_round):
    rnd, authorities = report_round
    auth.login(Role.ADMIN)
    rated = _csv(client.get(f"/rounds/{rnd.id}/scores/tables/closed_answers.csv"))
    helpful = {r[2]: r[3:] for r in rated if r[1] == "How helpful has this help been?"}
    assert helpful["Very helpful"] == ["<5", "hidden"] and helpful["Quite helpful"] == ["<5", "hidden"]
    assert helpful["All answering"][0] == "5"
    asked = {r[1] for r in rated[1:]}
    assert asked == {"How helpful has this help been?", "How do you feel about the help you get?",
                     "Do the people who help you listen to you?"}      # found from the instruments
    rates = _csv(client.get(f"/rounds/{rnd.id}/scores/tables/response_rates.csv"))
    assert rates[0] == ["Authority", "Asked of", "Key group", "Links sent", "Begun", "Sent back", "Share sent back"]
    lac = next(kg.label for kg in rnd.key_groups if kg.code == "lac")
    assert ["Northam", "Parent or carer", lac, "7", "6", "5", "0.71"] in rates
    assert ["Southby", "Child or young person", "None", "2", "0", "0", "0.00"] in rates
    # An analyst sees labels, and counts under five suppressed with their share.
    auth.logout()
    auth.login(Role.ANALYST)
    page = client.get(f"/rounds/{rnd.id}/response-rates").get_data(as_text=True)
    assert "Northam" not in page and authorities["Northam"].label in page
    rates = _csv(client.get(f"/rounds/{rnd.id}/scores/tables/response_rates.csv"))
    southby = next(r for r in rates if r[0] == authorities["Southby"].label)
    assert southby[3:] == ["<5", "0", "0", "hidden"]
    only_lac = _csv(client.get(f"/rounds/{rnd.id}/scores/tables/response_rates.csv?key_group=lac"))
    assert [r[0] for r in only_lac[1:]] == [authorities["Northam"].label]


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_context_is_recorded_by_admins_and_shown_beside_the_index(client, auth, session, report_round):
    rnd, authorities = report_round
    westby = authorities["Westby"]
    auth.login(Role.ADMIN)
    page = client.get(f"/rounds/{rnd.id}/context").get_data(as_text=True)
    assert "Westby" in page and "London borough" in page
    saved = client.post(f"/rounds/{rnd.id}/context/{westby.public_id}",
                        data={"authority_type": "metropolitan", "children": "71200", "integrated_since": "2005"})
    assert saved.status_code == 302
    part = session.scalar(sa.select(Participation).where(Participation.authority_id == westby.id))
    session.refresh(part)
    assert (part.authority_type, part.children, part.integrated_since) == ("metropolitan", 71200, 2005)
    again = client.get(f"/rounds/{rnd.id}/context").get_data(as_text=True)
    row = again[again.index(f'id="type-{westby.public_id}"'):]
    row = row[:row.index("</tr>")]
    assert '<option value="metropolitan" selected>' in row and row.count(" selected") == 1
    assert 'name="children" type="number"' in row and 'value="71200"' in row and 'value="2005"' in row
    # Bad input: a clear message, nothing changed.
    for bad, message in (({"authority_type": "parish"}, "Not a valid choice"),
                         ({"children": "-3"}, "Children aged 0-19"),
                         ({"integrated_since": "1850"}, "The year integration began"),
                         ({"children": "many"}, "Not a valid integer")):
        response = client.post(f"/rounds/{rnd.id}/context/{westby.public_id}", data=bad, follow_redirects=True)
        assert response.status_code == 200 and message in response.get_data(as_text=True)
        session.refresh(part)
        assert (part.authority_type, part.children, part.integrated_since) == ("metropolitan", 71200, 2005)
    admin_rows = _csv(client.get(f"/rounds/{rnd.id}/scores/tables/context.csv"))
    assert next(r[3:6] for r in admin_rows if r[1] == "Westby") == ["Metropolitan borough", "71200", "2005"]
    auth.logout()
    auth.login(Role.ANALYST)
    rows = _csv(client.get(f"/rounds/{rnd.id}/scores/tables/context.csv"))
    northam = next(r for r in rows if r[1] == authorities["Northam"].label)
    assert northam[3:6] == ["County council", "100,000 to 199,999", "2003"]     # a band, not the size
    # Ranked (the two Figure 2 authorities tie: "=1", written so no spreadsheet reads a formula).
    assert rows[1][0] == "'=1" and northam[2]
    assert client.post(f"/rounds/{rnd.id}/context/{westby.public_id}", data={"children": "1"}).status_code == 403


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_profile_shows_features_of_staff_working_with_a_key_group(client, auth, session, report_round):
    rnd, authorities = report_round
    auth.login(Role.ADMIN)
    url = f"/rounds/{rnd.id}/scores/authorities/{authorities['Northam'].public_id}"
    page = client.get(f"{url}?key_group=asd").get_data(as_text=True)
    # asd in Northam: managers 2 and practitioners 2 and 4 (1 SM, 2 PR), no DCS.
    assert "0 DCS · 1 SM · 2 PR interviewed" in page
    assert "Features named by staff working with" in page
    assert "Staff working with one key group" in client.get(url).get_data(as_text=True)
    auth.logout()
    auth.login(Role.ANALYST)
    page = client.get(f"{url}?key_group=asd").get_data(as_text=True)
    assert "0 DCS · &lt;5 SM · &lt;5 PR interviewed" in page


def test_every_table_exports_for_a_round_not_scored(runner, session, make_round, make_authority):
    rnd = make_round("Unscored")
    make_authority("Lonely Borough", round=rnd)
    listed = runner.invoke(args=["export", "table", "--list"])
    assert listed.exit_code == 0
    names = [line.split()[0] for line in listed.output.splitlines()]
    assert {"to_develop", "suggestions", "closed_answers", "thirds", "context", "response_rates"} <= set(names)
    for name in names:
        result = runner.invoke(args=["export", "table", name, "--round", "Unscored"])
        assert result.exit_code == 0, (name, result.output)
        assert result.output.splitlines()[0]      # the header row
        xlsx = runner.invoke(args=["export", "table", name, "--round", "Unscored", "--format", "xlsx"])
        assert xlsx.exit_code == 0
        about = load_workbook(io.BytesIO(xlsx.stdout_bytes))["About"]
        notes = " ".join(str(c.value) for row in about.iter_rows() for c in row if c.value)
        if name in ("to_develop", "suggestions", "thirds"):
            assert round_tables.NOT_SCORED in notes


def test_export_table_by_key_group_refuses_what_it_cannot_do(runner, session, report_round):
    rnd, _authorities = report_round
    ok = runner.invoke(args=["export", "table", "table1", "--round", rnd.name, "--key-group", "lac"])
    assert ok.exit_code == 0 and list(csv.reader(io.StringIO(ok.output)))[1][2] == "6"
    unknown = runner.invoke(args=["export", "table", "table1", "--round", rnd.name, "--key-group", "nope"])
    assert unknown.exit_code != 0 and "no key group 'nope'" in unknown.output and "asd" in unknown.output
    whole_only = runner.invoke(args=["export", "table", "gaps", "--round", rnd.name, "--key-group", "lac"])
    assert whole_only.exit_code != 0 and "not broken down by key group" in whole_only.output


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_response_rates_page_shows_authorities_a_page_at_a_time(app, client, auth, session, make_round):
    rnd = make_round("Round 1")

    def add(names):
        for name in names:
            consortium.ensure_participation(session, rnd, consortium.get_or_create_authority(session, name))
        session.commit()
        for name in names:
            invitations.create_invitations(session, "test", round=rnd, authority=name, role="parent", count=1)

    def page(n=None):
        return statements_of_page(app, client, f"/rounds/{rnd.id}/response-rates" + (f"?page={n}" if n else ""))

    add([f"Place {i:02d}" for i in range(3)])
    auth.login(Role.ADMIN)
    few, _ = page()
    add([f"Place {i:02d}" for i in range(3, 30)])
    many, first = page()
    assert many == few
    assert ">Place 00</td>" in first and ">Place 24</td>" in first and ">Place 25</td>" not in first
    assert "authorities 1–25 of 30" in first and "page=2" in first
    second = page(2)[1]
    assert ">Place 25</td>" in second and ">Place 29</td>" in second and ">Place 24</td>" not in second
    assert ">Place 29</td>" in page(7)[1] and ">Place 00</td>" in page("x")[1]
    rates = _csv(client.get(f"/rounds/{rnd.id}/scores/tables/response_rates.csv"))
    assert [r[0] for r in rates[1:]] == [f"Place {i:02d}" for i in range(30)]     # the download holds all


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_only_tables_with_a_row_per_authority_read_the_scores(app, client, auth, report_round):
    rnd, _ = report_round
    auth.login(Role.ADMIN)
    client.get(f"/rounds/{rnd.id}/scores/tables/table1.csv")
    for name in round_tables.TABLES:
        with statements(app) as seen:
            response = client.get(f"/rounds/{rnd.id}/scores/tables/{name}.csv")
        assert response.status_code == 200, name
        # The others come from the round's stored summary alone.
        assert any("FROM confidence_score" in s for s in seen) == (name in round_tables.BY_AUTHORITY), name
