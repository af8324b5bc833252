"""The access matrix, one module per feature.

Each module defines ``pages(world) -> list[Page]``: every registered view with a
URL to try and the set of roles that may use it. ``tests/test_access_matrix.py``
requests each page as each role and fails if any registered endpoint is missing
here, so a new page without a rule fails the suite.

Each module also defines ``writes(world) -> list[Write]``: for every view that
accepts POST, requests aimed at ``other`` (ids of its rows in the address or the
body; ``world.foreign`` holds them). Sent as every role, none may change anything
of ``other`` for a user who may not see it, and none may answer 5xx; a POST route
without a write here fails the suite.

Roles: ``anonymous`` plus the values of ``impactmodel.auth.models.Role``. ``world``
holds a round, two authorities (``authority`` is the researcher's assigned one and
the contact's own; ``other`` is neither), a respondent of each, and ``session``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ANON = "anonymous"
ADMIN = "admin"
RESEARCHER = "researcher"
CONTACT = "authority_contact"
ANALYST = "analyst"
SIGNED_IN = frozenset({ADMIN, RESEARCHER, CONTACT, ANALYST})
EVERYONE = SIGNED_IN | {ANON}
STAFF = frozenset({ADMIN, RESEARCHER})


@dataclass(frozen=True)
class Page:
    endpoint: str
    url: object  # a path, or a callable(world) -> path for pages that destroy their target
    allowed: frozenset
    method: str = "GET"
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Write:
    """A POST aimed at ``world.other``. ``form`` is a dict, or a callable giving a fresh
    dict (uploads need a new file object each time); ``json`` a JSON body."""
    endpoint: str
    url: str
    form: object = None
    json: object = None

    def send(self, client):
        form = self.form() if callable(self.form) else self.form
        return client.post(self.url, data=form, json=self.json)
