"""Fixtures for the fieldwork tests: a round with an assigned and an unassigned authority."""
from __future__ import annotations

from functools import cached_property

import pytest

from impactmodel.auth.models import Role


class Fieldwork:
    """Accounts are made on first use: password hashing is deliberately slow."""

    def __init__(self, make_round, make_authority, make_user):
        self.round = make_round("Round 1 (2007-08)")
        self.authority = make_authority("Northshire", round=self.round)
        self.other = make_authority("Southvale", round=self.round)
        self._make_user = make_user

    @cached_property
    def researcher(self):
        return self._make_user(Role.RESEARCHER, assigned=[self.authority])

    @cached_property
    def admin(self):
        return self._make_user(Role.ADMIN)


@pytest.fixture
def fw(session, make_round, make_authority, make_user):
    return Fieldwork(make_round, make_authority, make_user)
