"""Retention: `impactmodel retention apply` deletes the respondents' data of rounds past
their retention date and keeps the results; the research contact and safeguarding steps
are set from the command line."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from impactmodel.audit import AuditEvent
from impactmodel.codebook.models import Coding
from impactmodel.consortium.models import Authority, Case, Respondent, Round
from impactmodel.db import utcnow
from impactmodel.fieldwork import interviews, invitations, responses, surveys
from impactmodel.fieldwork.models import Answer, Invitation, SafeguardingFlag
from impactmodel.scoring import services as scoring
from impactmodel.scoring.models import ConfidenceScore
from tests.conftest import ENGINES


def _count(session, model, *where) -> int:
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _fill(session, fw, rnd, authority):
    """A sent parent survey (coded, flagged) and an interview in ``rnd``."""
    link = invitations.create_invitations(session, fw.admin, round=rnd, authority=authority, role="parent",
                                       count=2, case="LAC-03")[0]
    surveys.submit_survey(session, link, {"child_difference": {"value": ["L3.cyp.confidence"]},
                                           "better_more": {"text": "I do not feel safe at home."}})
    interview = interviews.start_interview(session, fw.admin, round=rnd, authority=authority, role="manager")
    responses.save_answers(session, fw.admin, interview, [{"key": "l1_changes", "text": "Panels meet."}])


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_retention_apply_deletes_a_past_rounds_people_and_keeps_its_results(runner, session, fw, make_round):
    later = make_round("Round 2 (2008-09)")
    _fill(session, fw, fw.round, fw.authority)
    _fill(session, fw, later, fw.authority)
    scoring.compute_scores(session, "test", fw.round, n_replicates=50)
    yesterday = (utcnow() - timedelta(days=1)).date()
    assert runner.invoke(args=["retention", "set", "--round", "Round 1 (2007-08)",
                               "--until", yesterday.isoformat()]).exit_code == 0
    assert runner.invoke(args=["retention", "set", "--round", "Round 2 (2008-09)",
                               "--until", (yesterday + timedelta(days=400)).isoformat()]).exit_code == 0
    mine = Respondent.round_id == fw.round.id
    assert _count(session, Respondent, mine) == 2 and _count(session, Answer) == 6

    dry = runner.invoke(args=["retention", "apply", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output == (f"Round 1 (2007-08) (kept until {yesterday.isoformat()}): would delete: "
                          "2 respondents, 3 answers, 1 codings, 2 survey links, 1 cases\n")
    assert _count(session, Respondent, mine) == 2

    done = runner.invoke(args=["retention", "apply"])
    assert done.exit_code == 0 and "deleted: 2 respondents" in done.output
    assert _count(session, Respondent, mine) == 0
    assert _count(session, Invitation, Invitation.round_id == fw.round.id) == 0
    assert _count(session, Case, Case.round_id == fw.round.id) == 0
    assert _count(session, Coding, Coding.round_id == fw.round.id) == 0
    assert _count(session, SafeguardingFlag, SafeguardingFlag.round_id == fw.round.id) == 0
    # The later round keeps everything; the deleted round keeps its results, not marked out of date.
    assert _count(session, Respondent, Respondent.round_id == later.id) == 2
    assert _count(session, Answer) == 3
    assert _count(session, ConfidenceScore, ConfidenceScore.round_id == fw.round.id) == 2
    assert not scoring.is_stale(session, scoring.stored_results(session, session.get(Round, fw.round.id)))
    [event] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "round.retention_delete")).all()
    assert event.details == {"retain_until": yesterday.isoformat(), "respondents": 2, "answers": 3, "codings": 1,
                             "invitations": 2, "cases": 1, "suggestion_models": 0}
    again = runner.invoke(args=["retention", "apply"])
    assert again.output == f"Round 1 (2007-08) (kept until {yesterday.isoformat()}): nothing to delete\n"
    assert _count(session, AuditEvent, AuditEvent.action == "round.retention_delete") == 1


def test_retention_commands_refuse_bad_input_and_change_nothing(runner, session, fw):
    assert "No round is past its retention date." in runner.invoke(args=["retention", "apply"]).output
    bad_date = runner.invoke(args=["retention", "set", "--round", "Round 1 (2007-08)", "--until", "31/08/2029"])
    assert bad_date.exit_code == 2 and "31/08/2029" in bad_date.output
    neither = runner.invoke(args=["retention", "set", "--round", "Round 1 (2007-08)"])
    assert neither.exit_code == 2 and "--until YYYY-MM-DD or --clear" in neither.output
    typo = runner.invoke(args=["retention", "set", "--round", "Round 1", "--until", "2029-08-31"])
    assert typo.exit_code == 1 and "did you mean 'Round 1 (2007-08)'" in typo.output
    session.expire_all()
    assert session.get(Round, fw.round.id).retain_until is None
    ok = runner.invoke(args=["retention", "set", "--round", "Round 1 (2007-08)", "--until", "2029-08-31"])
    assert ok.output == "Round 1 (2007-08): kept until 2029-08-31\n"
    session.expire_all()
    assert session.get(Round, fw.round.id).retain_until == date(2029, 8, 31)


def test_the_research_contact_and_safeguarding_steps_are_set_from_the_command_line(
        runner, client, session, fw, tmp_path):
    shown = runner.invoke(args=["research-contact", "--round", "Round 1 (2007-08)"])
    assert "(none: survey pages ask people" in shown.output
    runner.invoke(args=["research-contact", "--round", "Round 1 (2007-08)",
                        "Family Voices team,   voices@example.org"])
    link = invitations.create_invitations(session, fw.admin, round=fw.round, authority=fw.authority,
                                       role="parent", count=1)[0]
    page = client.get(f"/s/{link.token}").get_data(as_text=True)
    assert "Contact Family Voices team, voices@example.org." in page
    assert "Family Voices team, voices@example.org" in client.get(f"/s/{link.token}/privacy").get_data(as_text=True)

    steps = tmp_path / "steps.txt"
    steps.write_text("1. Ring the MASH.\n2. Tell the lead.\n", encoding="utf-8")
    out = runner.invoke(args=["safeguarding", "steps", "--authority", "northshire", "--file", str(steps)])
    assert out.exit_code == 0 and out.output == "1. Ring the MASH.\n2. Tell the lead.\n"
    session.expire_all()
    assert session.get(Authority, fw.authority.id).safeguarding_steps == "1. Ring the MASH.\n2. Tell the lead."
    cleared = runner.invoke(args=["safeguarding", "steps", "--authority", "Northshire", "--clear"])
    assert "designated safeguarding lead" in cleared.output

    check = runner.invoke(args=["safeguarding", "check", "I want to die"])
    assert check.exit_code == 0 and check.output.endswith("matches: self_harm\n")
    assert runner.invoke(args=["safeguarding", "check", "We like the club"]).output.endswith("matches no rule\n")
