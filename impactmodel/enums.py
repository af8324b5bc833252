"""Closed vocabularies shared by the data model, the forms and the imports."""
from __future__ import annotations

import enum

import sqlalchemy as sa


class RespondentRole(enum.StrEnum):
    """Who takes part (the report's roles: directors, managers, practitioners, parents, children)."""

    DCS = "dcs"
    MANAGER = "manager"
    PRACTITIONER = "practitioner"
    PARENT = "parent"
    CHILD = "child"

    @property
    def is_staff(self) -> bool:
        return self in STAFF_ROLES

    @property
    def label(self) -> str:
        return {
            "dcs": "Director of Children's Services",
            "manager": "Service manager",
            "practitioner": "Practitioner",
            "parent": "Parent or carer",
            "child": "Child or young person",
        }[self.value]

    @property
    def short(self) -> str:
        # The report's key for Figures 2-3.
        return {"dcs": "DCS", "manager": "SM", "practitioner": "PR",
                "parent": "P", "child": "C"}[self.value]


STAFF_ROLES = (RespondentRole.DCS, RespondentRole.MANAGER, RespondentRole.PRACTITIONER)


class Valence(enum.StrEnum):
    POSITIVE = "positive"
    TO_DEVELOP = "to_develop"
    NEGATIVE = "negative"


class EvidenceCategory(enum.StrEnum):
    """Box 6: how an authority's quantitative evidence was classified."""

    EARLY_DAYS = "early_days"
    NOT_ASCRIBED = "not_ascribed"
    ASCRIBED = "ascribed"
    NO_RESPONSE = "no_response"


def enum_type(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A portable enum column: VARCHAR plus a named CHECK constraint on every engine."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )
