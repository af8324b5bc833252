"""The command line forgives a newcomer: it lists what exists, refuses unknown names with
the names meant, never takes a password as an option, and checks without writing."""
from __future__ import annotations

from importlib.metadata import version

import pytest
import sqlalchemy as sa

from impactmodel.audit import AuditEvent
from impactmodel.auth.models import Role, User
from impactmodel.cli import cli
from impactmodel.codebook.models import CodebookVersion
from impactmodel.consortium.models import Authority, Round
from impactmodel.consortium.services import closest_names
from impactmodel.fieldwork.models import Invitation
from tests.conftest import ENGINES, PASSWORD

DEMO_ROUNDS = ["Round 1 (2007-08)", "Round 2 (2008-09)"]


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_version_is_the_package_version(runner):
    result = runner.invoke(cli=cli, args=["--version"])   # the console script's group
    assert result.exit_code == 0
    assert result.output.strip() == f"impactmodel {version('impactmodel')}"


def test_closest_names():
    names = ["Round 1 (2007-08)", "Round 2 (2008-09)", "Pilot"]
    assert closest_names("round 1  (2007-08)", names) == ["Round 1 (2007-08)"]   # case, spacing
    assert closest_names("Round 1", names) == ["Round 1 (2007-08)"]               # prefix
    assert closest_names("round", names) == names[:2]
    assert closest_names("Pliot", names) == ["Pilot"]                              # typo
    assert closest_names("Wave 3", names) == []
    assert closest_names("", names) == []


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_round_and_authority_lists(runner, make_round, make_authority):
    first, second = (make_round(n) for n in DEMO_ROUNDS)
    make_authority("Westmere City Council", round=first)
    make_authority("Eastbrook Borough Council", round=first)
    make_authority("Northshire County Council", round=second)
    rounds = runner.invoke(args=["round", "list"])
    assert rounds.exit_code == 0 and rounds.output.splitlines() == DEMO_ROUNDS
    listed = runner.invoke(args=["authority", "list", "--round", DEMO_ROUNDS[0]])
    assert listed.output.splitlines() == ["Eastbrook Borough Council", "Westmere City Council"]
    everyone = runner.invoke(args=["authority", "list"])
    assert everyone.output.splitlines() == ["Eastbrook Borough Council", "Northshire County Council",
                                            "Westmere City Council"]
    unknown = runner.invoke(args=["authority", "list", "--round", "Round 3"])
    assert unknown.exit_code == 1
    assert f"no round called 'Round 3': the rounds are {DEMO_ROUNDS[0]!r}, {DEMO_ROUNDS[1]!r}." in unknown.output


def invite(runner, round_name, authority, *extra):
    return runner.invoke(args=["invite", "--round", round_name, "--authority", authority,
                               "--role", "parent", "--count", "2", *extra])


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_invite_refuses_unknown_names_and_suggests_the_closest(runner, session, make_round,
                                                               make_authority):
    rnd = make_round(DEMO_ROUNDS[0])
    make_round(DEMO_ROUNDS[1])
    make_authority("Northshire County Council", round=rnd)
    refused = {
        "Round 1": "no round called 'Round 1': did you mean 'Round 1 (2007-08)'?",
        "round 2 (2008-09)": "no round called 'round 2 (2008-09)': did you mean 'Round 2 (2008-09)'?",
        "Round 3": "no round called 'Round 3': the rounds are 'Round 1 (2007-08)', 'Round 2 (2008-09)'.",
    }
    for name, message in refused.items():
        result = invite(runner, name, "Northshire County Council")
        assert result.exit_code == 1
        assert message in result.output
        assert "Give --create to make a new round of that name." in result.output
    typo = invite(runner, DEMO_ROUNDS[0], "Northshire Countty Council")
    assert typo.exit_code == 1
    assert ("no authority called 'Northshire Countty Council': did you mean "
            "'Northshire County Council'?") in typo.output
    far = invite(runner, DEMO_ROUNDS[0], "Southvale")
    assert "`impactmodel authority list` shows every authority." in far.output
    assert (count(session, Round), count(session, Authority), count(session, Invitation)) == (2, 1, 0)

    made = invite(runner, "Round 3", "Southvale", "--create")
    assert made.exit_code == 0, made.output
    assert len(made.output.splitlines()) == 2
    assert (count(session, Round), count(session, Authority), count(session, Invitation)) == (3, 2, 2)


def test_commands_reading_a_round_suggest_the_closest(runner, make_round, tmp_path):
    make_round(DEMO_ROUNDS[0])
    for args in (["score", "--json"], ["export", "coded"], ["export", "qdpx", "--out", str(tmp_path / "r.qdpx")]):
        result = runner.invoke(args=[*args, "--round", "Round 1"])
        assert result.exit_code == 1, args
        assert "did you mean 'Round 1 (2007-08)'?" in result.output, args
        assert "--create" not in result.output   # these commands never create a round
    assert not (tmp_path / "r.qdpx").exists()


def test_user_create_asks_for_the_password_and_refuses_it_as_an_option(runner, session):
    args = ["user", "create", "--email", "ops@example.org", "--role", "analyst"]
    given = runner.invoke(args=[*args, "--password", PASSWORD])
    assert given.exit_code == 2
    assert "passwords are not taken on the command line" in given.output
    assert count(session, User) == 0
    mismatch = runner.invoke(args=args, input=f"{PASSWORD}\n{PASSWORD}x\n")
    assert mismatch.exit_code != 0 and count(session, User) == 0
    made = runner.invoke(args=args, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert made.exit_code == 0, made.output
    assert PASSWORD not in made.output   # not echoed
    assert count(session, User) == 1


def test_user_create_suggests_the_authority(runner, session, make_authority):
    make_authority("Northshire County Council")
    result = runner.invoke(args=["user", "create", "--email", "c@example.org", "--role",
                                 "authority_contact", "--authority", "Northshire"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 1
    assert "did you mean 'Northshire County Council'?" in result.output
    assert "--create" not in result.output
    assert count(session, User) == 0


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_user_list_set_password_and_deactivate(app, runner, session, make_user):
    analyst = make_user(Role.ANALYST, email="ana@example.org")
    make_user(Role.ADMIN, email="boss@example.org")
    listing = runner.invoke(args=["user", "list"])
    assert listing.exit_code == 0
    assert listing.output.splitlines() == ["ana@example.org\tanalyst\tactive\tTest Consortium analyst",
                                           "boss@example.org\tadmin\tactive\tTest Administrator"]
    client = app.test_client()
    assert client.post("/login", data={"email": "ana@example.org", "password": PASSWORD}).status_code == 302

    new = "a different long passphrase"
    assert runner.invoke(args=["user", "set-password", "ana@example.org", "--password", new]).exit_code == 2
    weak = runner.invoke(args=["user", "set-password", "ana@example.org"], input="password12\npassword12\n")
    assert weak.exit_code == 1 and "This is a very common password." in weak.output
    unknown = runner.invoke(args=["user", "set-password", "nobody@example.org"], input=f"{new}\n{new}\n")
    assert unknown.exit_code == 1 and "there is no account for nobody@example.org" in unknown.output
    changed = runner.invoke(args=["user", "set-password", "ANA@example.org"], input=f"{new}\n{new}\n")
    assert changed.exit_code == 0, changed.output
    assert client.get("/").status_code == 302   # the earlier session ended
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": "ana@example.org", "password": PASSWORD}).status_code != 302
    assert fresh.post("/login", data={"email": "ana@example.org", "password": new}).status_code == 302

    gone = runner.invoke(args=["user", "deactivate", "ana@example.org"])
    assert gone.exit_code == 0, gone.output
    assert fresh.get("/").status_code == 302
    assert app.test_client().post("/login", data={"email": "ana@example.org",
                                                  "password": new}).status_code != 302
    assert "ana@example.org\tanalyst\tdeactivated" in runner.invoke(args=["user", "list"]).output
    assert "already deactivated" in runner.invoke(args=["user", "deactivate", "ana@example.org"]).output
    session.expire_all()
    assert session.get(User, analyst.id).active is False
    actions = session.scalars(sa.select(AuditEvent.details).where(AuditEvent.action == "user.update")).all()
    assert [(d["password_changed"], d["active"]) for d in actions] == [(True, True), (False, False)]


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_codebook_check_writes_nothing_and_sync_records(runner, session):
    assert count(session, CodebookVersion) == 0
    checked = runner.invoke(args=["codebook", "check"])
    assert checked.exit_code == 0, checked.output
    assert "Codebook valid" in checked.output and "`impactmodel codebook sync` records it" in checked.output
    assert count(session, CodebookVersion) == 0
    synced = runner.invoke(args=["codebook", "sync"])
    assert synced.exit_code == 0 and "(version 1)" in synced.output
    assert "recorded as version 1" in runner.invoke(args=["codebook", "check"]).output
    assert count(session, CodebookVersion) == 1
