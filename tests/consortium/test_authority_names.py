"""Authorities are one per name whatever its case or spacing: web form, CSV import, CLI."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.auth.models import Role
from impactmodel.consortium import services as consortium
from impactmodel.consortium.models import Authority, Participation, authority_key
from tests.conftest import ENGINES


def authority_count(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Authority))


def test_the_key_ignores_case_spacing_and_compatibility_forms():
    assert authority_key("  northshire   County\tcouncil ") == "northshire county council"
    assert authority_key("NORTHSHIRE COUNTY COUNCIL") == "northshire county council"
    assert authority_key("Ｎorthshire") == "northshire"          # a full-width letter
    assert authority_key("Straße") == authority_key("STRASSE")
    assert authority_key("Northshire") != authority_key("North Shire")


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_find_and_get_or_create_match_any_spelling(session):
    north = consortium.get_or_create_authority(session, "Northshire  County Council")
    session.commit()
    assert north.name == "Northshire County Council"
    for spelling in ("northshire county council", " NORTHSHIRE COUNTY  COUNCIL ", "Northshire County Council"):
        assert consortium.find_authority_by_name(session, spelling).id == north.id
        assert consortium.get_or_create_authority(session, spelling).id == north.id
    assert consortium.find_authority_by_name(session, "Southvale") is None
    assert authority_count(session) == 1
    assert len(north.public_id) == 16 and not north.public_id.isdigit()


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_the_database_refuses_a_second_authority_with_the_same_key(session):
    consortium.get_or_create_authority(session, "Northshire")
    session.commit()
    session.add(Authority(name="NORTHSHIRE", label="Authority ZZ"))
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_two_requests_adding_one_authority_at_once_get_the_same_row(app, session):
    """The second insert waits for the first and then finds its row instead of failing."""
    engine = app.extensions["impactmodel.engine"]
    first = Session(bind=engine)
    made = consortium.get_or_create_authority(first, "Northshire")   # not committed yet
    found = {}

    def second():
        with Session(bind=engine) as s:
            found["id"] = consortium.get_or_create_authority(s, "northshire ").id
            s.commit()
    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive(), "the second request should wait for the first"
    first.commit()
    thread.join(30)
    assert found["id"] == made.id
    first.close()
    assert authority_count(session) == 1


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_the_add_authority_form_finds_the_existing_authority(client, auth, session, make_round,
                                                             make_authority):
    auth.login(Role.ADMIN)
    rnd = make_round("Round 2")
    north = make_authority("Northshire County Council")
    page = client.get(f"/rounds/{rnd.id}").get_data(as_text=True)
    # Autocomplete without script: the field names a datalist of existing authorities.
    assert 'list="authority-names"' in page
    assert '<datalist id="authority-names"><option value="Northshire County Council"></datalist>' in page
    response = client.post(f"/rounds/{rnd.id}/authorities",
                           data={"authority": "northshire   county council"}, follow_redirects=True)
    assert f"Northshire County Council ({north.label}) takes part in Round 2." in response.get_data(as_text=True)
    assert authority_count(session) == 1
    assert session.scalar(sa.select(Participation.authority_id).where(Participation.round_id == rnd.id)) == north.id


def test_the_datalist_is_only_for_administrators(client, auth, make_round, make_authority):
    rnd = make_round()
    make_authority("Northshire", round=rnd)
    auth.login(Role.ANALYST)
    assert "datalist" not in client.get(f"/rounds/{rnd.id}").get_data(as_text=True)


CODED = """authority,respondent,role,code
Northshire,m1,manager,L1.tools
NORTHSHIRE ,m2,manager,L1.tools
northshire,m1,manager,F.commissioning
"""


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_imports_match_existing_authorities_and_each_other(runner, session, tmp_path, make_authority):
    north = make_authority("Northshire")
    path = tmp_path / "coded.csv"
    path.write_text(CODED, encoding="utf-8")
    result = runner.invoke(args=["import", "coded", str(path), "--round", "Round 1"])
    assert result.exit_code == 0, result.output
    assert "new authorities" not in result.output and "new authority" not in result.output
    assert authority_count(session) == 1
    refs = session.execute(sa.text("SELECT reference FROM respondent WHERE authority_id = :a ORDER BY 1"),
                           {"a": north.id}).scalars().all()
    assert refs == ["m1", "m2"]     # "m1" of "Northshire" and of "northshire" is one person
    levels = tmp_path / "levels.csv"
    levels.write_text("authority,respondent,role,level\nnorthShire,m2,manager,3\nNorthshire,m2,manager,2\n",
                      encoding="utf-8")
    clash = runner.invoke(args=["import", "levels", str(levels), "--round", "Round 1"])
    assert clash.exit_code != 0 and "line 3" in clash.output and "already has level 3" in clash.output


def test_a_new_authority_spelt_two_ways_in_one_file_is_created_once(runner, session, tmp_path):
    path = tmp_path / "coded.csv"
    path.write_text("authority,respondent,role,code\nSouthvale,m1,manager,L1.tools\n"
                    "SOUTHVALE,m2,manager,L1.tools\n", encoding="utf-8")
    result = runner.invoke(args=["import", "coded", str(path), "--round", "Round 1", "--check"])
    assert result.exit_code == 0, result.output
    assert "1 new authority (Southvale)" in result.output
    result = runner.invoke(args=["import", "coded", str(path), "--round", "Round 1"])
    assert result.exit_code == 0, result.output
    assert session.scalars(sa.select(Authority.name)).all() == ["Southvale"]


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_invite_uses_the_existing_authority_whatever_the_spelling(runner, session, make_round,
                                                                  make_authority):
    rnd = make_round("Round 1")
    north = make_authority("Northshire County Council", round=rnd)
    result = runner.invoke(args=["invite", "--round", "Round 1", "--authority", "NORTHSHIRE county council",
                                 "--role", "parent", "--count", "2"])
    assert result.exit_code == 0, result.output
    assert authority_count(session) == 1
    assert session.execute(sa.text("SELECT count(*) FROM invitation WHERE authority_id = :a"),
                           {"a": north.id}).scalar() == 2


def test_user_create_finds_the_authority_whatever_the_spelling(runner, session, make_authority):
    north = make_authority("Northshire")
    result = runner.invoke(args=["user", "create", "--email", "c@example.org", "--role", "authority_contact",
                                 "--authority", " northshire"], input="long enough pw\nlong enough pw\n")
    assert result.exit_code == 0, result.output
    assert session.execute(sa.text("SELECT authority_id FROM \"user\"")).scalar() == north.id
