"""All-or-nothing CSV imports that name the line, column and problem."""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from impactmodel.auth.models import Role
from impactmodel.codebook.models import Coding
from impactmodel.consortium.models import Authority, Respondent, Round
from tests.conftest import ENGINES

GOOD = """authority,respondent,role,code,valence,key_group,excerpt,coder
Northshire,dcs-1,dcs,F.locality_working,positive,,"Locality teams are the backbone",rk
Northshire,dcs-1,dcs,F.commissioning,to_develop,,,rk
Northshire,pr-1,practitioner,L2.workload,,lac,"the CAF is long",jb
Southvale,p-1,parent,L3.cyp.confidence,,asd,"more confident now",jb
"""


def write(tmp_path, text, name="in.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def counts(session):
    return (session.scalar(sa.select(sa.func.count()).select_from(Coding)),
            session.scalar(sa.select(sa.func.count()).select_from(Respondent)),
            session.scalar(sa.select(sa.func.count()).select_from(Authority)))


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_import_coded_creates_round_authorities_respondents_and_codings(runner, session, tmp_path):
    result = runner.invoke(args=["import", "coded", write(tmp_path, GOOD), "--round", "Round 1"])
    assert result.exit_code == 0, result.output
    assert "Imported 4 rows into 'Round 1', with the new round 'Round 1', 2 new authorities " \
           "(Northshire, Southvale) and 3 new respondents." in result.output
    assert counts(session) == (4, 3, 2)
    labels = dict(session.execute(sa.select(Authority.name, Authority.label)).all())
    assert set(labels) == {"Northshire", "Southvale"}
    assert len(set(labels.values())) == 2
    assert all(re.fullmatch(r"Authority [A-Z]{1,2}", label) for label in labels.values())
    workload = session.scalar(sa.select(Coding).where(Coding.code_id == "L2.workload"))
    assert workload.valence.value == "negative"  # the code's own default, not "positive"
    assert workload.respondent.key_group.code == "lac"
    commissioning = session.scalar(sa.select(Coding).where(Coding.code_id == "F.commissioning"))
    assert commissioning.valence.value == "to_develop" and commissioning.agreed


BAD_ROWS = [
    ("Northshire,m1,manager,L9.nothing,,,,\n", "line 3, column 'code': unknown code 'L9.nothing'"),
    ("Northshire,m1,boss,L1.tools,,,,\n", "line 3, column 'role': unknown role 'boss'"),
    ("Northshire,m1,manager,L1.tools,to_develop,,,\n",
     "line 3, column 'valence': valence 'to_develop' does not apply to L1.tools"),
    ("Northshire,m1,manager,L3.cyp,,,,\n", "line 3, column 'code': 'L3.cyp' is a grouping code"),
    (",m1,manager,L1.tools,,,,\n", "line 3, column 'authority': is empty"),
    ("Northshire,m1,manager,L1.tools,,ks4,,\n", "line 3, column 'key_group': unknown key group 'ks4'"),
    ("Northshire,m1,manager,L1.tools\n", "line 3: has 4 fields but the header has 8"),
    ("Northshire,dcs-1,manager,L1.tools,,,,\n", "respondent 'dcs-1' of Northshire is dcs on line 2"),
    ('Northshire,m1,manager,L1.tools,,,"unclosed,\n', "malformed CSV"),
    ("Northshire," + "x" * 65 + ",manager,L1.tools,,,,\n",
     "line 3, column 'respondent': is longer than 64 characters"),
    ("Northshire,pr-1,practitioner,L1.tools,,asd,,\n",
     "line 5, column 'key_group': respondent 'pr-1' of Northshire is in key group 'asd' on line 3"),
]


@pytest.mark.parametrize("bad_row,message", BAD_ROWS)
def test_one_bad_row_imports_nothing_and_names_the_row(runner, session, tmp_path, bad_row, message):
    text = GOOD.splitlines(keepends=True)
    text = text[:2] + [bad_row] + text[2:]
    result = runner.invoke(args=["import", "coded", write(tmp_path, "".join(text)), "--round", "R"])
    assert result.exit_code != 0
    assert "Nothing was imported" in result.output
    assert message in result.output
    assert counts(session) == (0, 0, 0)
    assert session.scalar(sa.select(sa.func.count()).select_from(Round)) == 0


@pytest.mark.parametrize("header,message", [
    ("respondent,role,code\n", "line 1, column 'authority': required column is missing"),
    ("authority,respondent,role,code,valance\n", "line 1, column 'valance': unknown column"),
    ("", "the file is empty"),
])
def test_bad_header_is_named(runner, session, tmp_path, header, message):
    body = "Northshire,m1,manager,L1.tools,x\n" if header else ""
    result = runner.invoke(args=["import", "coded", write(tmp_path, header + body), "--round", "R"])
    assert result.exit_code != 0 and message in result.output
    assert counts(session) == (0, 0, 0)


def test_not_utf8_is_refused(runner, session, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("authority,respondent,role,code\nBrûle,m1,manager,L1.tools\n".encode("latin-1"))
    result = runner.invoke(args=["import", "coded", str(path), "--round", "R"])
    assert result.exit_code != 0 and "not UTF-8" in result.output
    assert counts(session) == (0, 0, 0)


def test_existing_respondent_with_another_role_is_refused(runner, session, tmp_path):
    assert runner.invoke(args=["import", "coded", write(tmp_path, GOOD), "--round", "R"]).exit_code == 0
    clash = "authority,respondent,role,code\nNorthshire,pr-1,manager,L1.tools\n"
    result = runner.invoke(args=["import", "coded", write(tmp_path, clash, "b.csv"), "--round", "R"])
    assert result.exit_code != 0
    assert "line 2, column 'role': respondent 'pr-1' of Northshire is already recorded as practitioner" \
        in result.output
    assert counts(session) == (4, 3, 2)


LEVELS = """authority,respondent,role,level
Northshire,dcs-1,dcs,3
Northshire,m-1,manager,2.5
Southvale,pr-9,practitioner,1.5
"""


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_import_levels(runner, session, tmp_path):
    result = runner.invoke(args=["import", "levels", write(tmp_path, LEVELS), "--round", "Round 1"])
    assert result.exit_code == 0, result.output
    levels = dict(session.execute(sa.select(Respondent.reference, Respondent.impact_level)).all())
    assert levels == {"dcs-1": 3.0, "m-1": 2.5, "pr-9": 1.5}


@pytest.mark.parametrize("bad_row,message", [
    ("Northshire,x,manager,4.5\n", "line 5, column 'level': 4.5 is out of range"),
    ("Northshire,x,manager,2.25\n", "line 5, column 'level': 2.25 is out of range"),
    ("Northshire,x,manager,high\n", "line 5, column 'level': 'high' is not a number"),
    ("Northshire,x,parent,2\n", "line 5, column 'role': only staff"),
    ("Northshire,dcs-1,dcs,2\n", "respondent 'dcs-1' already has level 3 on line 2"),
])
def test_bad_level_row_imports_nothing(runner, session, tmp_path, bad_row, message):
    result = runner.invoke(args=["import", "levels", write(tmp_path, LEVELS + bad_row), "--round", "R"])
    assert result.exit_code != 0 and message in result.output
    assert counts(session) == (0, 0, 0)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_export_then_import_gives_the_same_rows(runner, app, tmp_path, database_url):
    from tests.conftest import config_for
    from impactmodel import create_app
    assert runner.invoke(args=["import", "coded", write(tmp_path, GOOD), "--round", "R1"]).exit_code == 0
    first = runner.invoke(args=["export", "coded", "--round", "R1"])
    assert first.exit_code == 0
    rows = first.output.splitlines()
    assert rows[0] == "authority,respondent,role,code,valence,key_group,excerpt,coder"
    assert len(rows) == 5
    # Into an empty database: a second app on a fresh copy of the schema.
    fresh = tmp_path / "fresh.sqlite"
    from alembic import command
    from impactmodel.schema import alembic_config
    command.upgrade(alembic_config(f"sqlite:///{fresh}"), "head")
    other = create_app(config_for(f"sqlite:///{fresh}")).test_cli_runner()
    assert other.invoke(args=["import", "coded", write(tmp_path, first.output, "x.csv"),
                              "--round", "R1"]).exit_code == 0
    second = other.invoke(args=["export", "coded", "--round", "R1"])
    assert sorted(second.output.splitlines()) == sorted(rows)


def test_export_unknown_round(runner):
    result = runner.invoke(args=["export", "coded", "--round", "Nope"])
    assert result.exit_code != 0 and "no round called 'Nope'" in result.output


def test_web_upload_shows_every_problem_and_imports_nothing(client, auth, session):
    auth.login(Role.ADMIN)
    bad = GOOD + "Northshire,m1,manager,L9.x,,,,\nNorthshire,m2,boss,L1.tools,,,,\n"
    response = client.post("/import", data={"kind": "coded", "round_choice": "__new__", "new_round": "R",
                                            "file": (io.BytesIO(bad.encode()), "c.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was imported: 2 problems" in page
    assert "unknown code &#39;L9.x&#39;" in page and "unknown role &#39;boss&#39;" in page
    assert counts(session) == (0, 0, 0)


def test_web_upload_imports(client, auth, session):
    auth.login(Role.ADMIN)
    check = client.post("/import", data={"kind": "coded", "round_choice": "__new__", "new_round": "Web round",
                                         "action": "check",
                                         "file": (io.BytesIO(GOOD.encode("utf-8-sig")), "c.csv")},
                        content_type="multipart/form-data")
    assert check.status_code == 200
    text = check.get_data(as_text=True)
    assert "would import 4 rows into &#39;Web round&#39;" in text
    assert "the new round &#39;Web round&#39;, 2 new authorities (Northshire, Southvale) and 3 new respondents" in text
    assert counts(session) == (0, 0, 0)  # checking imports nothing
    response = client.post("/import", data={"kind": "coded", "round_choice": "__new__", "new_round": "Web round",
                                            "action": "import",
                                            "file": (io.BytesIO(GOOD.encode("utf-8-sig")), "c.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    assert counts(session) == (4, 3, 2)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported 4 rows into &#39;Web round&#39;" in page


def test_web_upload_needs_a_name_for_a_new_round(client, auth, session):
    auth.login(Role.ADMIN)
    response = client.post("/import", data={"kind": "coded", "round_choice": "__new__", "new_round": " ",
                                            "file": (io.BytesIO(GOOD.encode()), "c.csv")},
                           content_type="multipart/form-data")
    assert "Name the new round" in response.get_data(as_text=True)
    assert counts(session) == (0, 0, 0)


def test_cli_check_imports_nothing(runner, session, tmp_path):
    result = runner.invoke(args=["import", "coded", write(tmp_path, GOOD), "--round", "R", "--check"])
    assert result.exit_code == 0, result.output
    assert "All rows are valid: would import 4 rows into 'R'" in result.output
    assert counts(session) == (0, 0, 0)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_round_name_is_normalised_so_checks_and_writes_agree(runner, session, tmp_path):
    first = "authority,respondent,role,code\nNorthshire,m1,manager,L1.tools\n"
    assert runner.invoke(args=["import", "coded", write(tmp_path, first), "--round", "R"]).exit_code == 0
    clash = "authority,respondent,role,code\nNorthshire,m1,dcs,L1.tools\n"
    result = runner.invoke(args=["import", "coded", write(tmp_path, clash, "b.csv"), "--round", " R  "])
    assert result.exit_code != 0
    assert "already recorded as manager" in result.output
    assert counts(session) == (1, 1, 1)


def test_overlong_round_name_is_refused(runner, session, tmp_path):
    result = runner.invoke(args=["import", "coded", write(tmp_path, GOOD), "--round", "R" * 81])
    assert result.exit_code != 0 and "longer than 80 characters" in result.output
    assert counts(session) == (0, 0, 0)


def test_excerpt_whitespace_survives_the_round_trip(runner, tmp_path):
    text = 'authority,respondent,role,code,excerpt\nNorthshire,m1,manager,L1.tools,"  two\nlines "\n'
    assert runner.invoke(args=["import", "coded", write(tmp_path, text), "--round", "R"]).exit_code == 0
    out = runner.invoke(args=["export", "coded", "--round", "R"]).output
    assert '"  two\nlines "' in out


def test_researcher_downloads_only_assigned_authorities(client, auth, runner, tmp_path, session):
    from impactmodel.consortium.models import Round
    assert runner.invoke(args=["import", "coded", write(tmp_path, GOOD), "--round", "R"]).exit_code == 0
    north = session.scalar(sa.select(Authority).where(Authority.name == "Northshire"))
    auth.login(Role.RESEARCHER, assigned=[north])
    rnd = session.scalar(sa.select(Round))
    csv_text = client.get(f"/rounds/{rnd.id}/export/coded.csv").get_data(as_text=True)
    assert "Northshire" in csv_text and "Southvale" not in csv_text
    assert "more confident now" not in csv_text  # Southvale's excerpt


def test_round_page_anonymises_and_suppresses_for_analysts(client, auth, runner, tmp_path, session):
    from impactmodel.consortium.models import Round
    assert runner.invoke(args=["import", "coded", write(tmp_path, GOOD), "--round", "R"]).exit_code == 0
    auth.login(Role.ANALYST)
    rnd = session.scalar(sa.select(Round))
    page = client.get(f"/rounds/{rnd.id}").get_data(as_text=True)
    assert "Northshire" not in page and "Southvale" not in page
    for label in session.scalars(sa.select(Authority.label)):
        assert label in page
    assert "&lt;5" in page  # Northshire has 2 respondents and 3 codings
