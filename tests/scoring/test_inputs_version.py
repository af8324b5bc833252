"""The database raises a round's scoring_inputs_version whenever anything its scores are
computed from changes, and nothing else."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from impactmodel import codebook
from impactmodel.codebook.models import Coding
from impactmodel.consortium.models import Participation, Respondent
from impactmodel.enums import EvidenceCategory, RespondentRole
from impactmodel.scoring import queries
from tests.conftest import ENGINES


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_each_change_to_scorings_inputs_raises_its_round_alone(session, make_round, make_authority,
                                                                 make_respondent):
    codebook.sync(session)
    rnd, other = make_round(), make_round()
    north = make_authority("North", round=rnd)
    make_authority("South", round=other)
    respondent_id = make_respondent(rnd, north).id

    def version(r=rnd):
        session.expire_all()
        return queries.inputs_version(session, r.id)

    def raises(change, *, expected=True):
        before, elsewhere = version(), version(other)
        change()
        session.commit()
        assert (version() > before) is expected, change.__doc__
        assert version(other) == elsewhere, change.__doc__

    def coding(agreed=True, **values):
        return {"round_id": rnd.id, "respondent_id": respondent_id, "code_id": "L1.tools",
                "valence": "positive", "coder": "ann", "agreed": agreed,
                "excerpt": "The panel meets every month.", **values}

    def add_agreed():
        """an agreed coding added"""
        session.execute(sa.insert(Coding), [coding(), coding(code_id="L3.cyp.confidence")])

    def add_blind():
        """a coding not agreed (a blind second coder's)"""
        session.execute(sa.insert(Coding), [coding(agreed=False, coder="bob")])

    raises(add_agreed)
    raises(add_blind, expected=False)
    blind = session.scalar(sa.select(Coding.id).where(Coding.agreed.is_(False)))
    agreed = session.scalar(sa.select(Coding.id).where(Coding.agreed.is_(True)))

    def change_blind():
        """a blind coding's valence changed"""
        session.execute(sa.update(Coding).where(Coding.id == blind).values(valence="negative"))
    raises(change_blind, expected=False)
    for values in ({"valence": "negative"}, {"code_id": "L2.dialogue"}, {"agreed": False}, {"agreed": True}):
        def change(values=values):
            """an agreed coding changed"""
            session.execute(sa.update(Coding).where(Coding.id == agreed).values(**values))
        raises(change)

    def excerpt_only():
        """an agreed coding's excerpt (scores do not read it)"""
        session.execute(sa.update(Coding).where(Coding.id == agreed).values(excerpt="The panel meets"))
    raises(excerpt_only, expected=False)

    def remove_agreed():
        """an agreed coding removed"""
        session.execute(sa.delete(Coding).where(Coding.id == agreed))
    raises(remove_agreed)

    for values in ({"impact_level": 2.5}, {"role": RespondentRole.PRACTITIONER}):
        def change_respondent(values=values):
            """a respondent's level or role changed"""
            session.execute(sa.update(Respondent).where(Respondent.id == respondent_id).values(**values))
        raises(change_respondent)

    def add_respondent():
        """a respondent added"""
        session.add(Respondent(round_id=rnd.id, authority_id=north.id, role=RespondentRole.MANAGER, reference="m-9"))
    raises(add_respondent)

    participation = session.scalar(sa.select(Participation.id).where(Participation.round_id == rnd.id))
    for values in ({"evidence": EvidenceCategory.ASCRIBED}, {"managers_in_post": 12}):
        def change_participation(values=values):
            """an authority's evidence or staff in post changed"""
            session.execute(sa.update(Participation).where(Participation.id == participation).values(**values))
        raises(change_participation)

    def context_only():
        """an authority's context (not read by scoring)"""
        session.execute(sa.update(Participation).where(Participation.id == participation).values(children=40000))
    raises(context_only, expected=False)

    def remove_respondent():
        """a respondent removed, with their codings"""
        session.execute(sa.delete(Respondent).where(Respondent.id == respondent_id))
    raises(remove_respondent)
