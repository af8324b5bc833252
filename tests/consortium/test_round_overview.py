"""The round page: respondents and agreed codings per authority, counted in a fixed number
of statements, and codings counted under the authority their respondent belongs to now."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from impactmodel.auth.models import Role
from impactmodel.codebook.models import Coding
from impactmodel.consortium import admin
from impactmodel.consortium import services as consortium
from impactmodel.consortium.models import Locality, Respondent
from impactmodel.consortium.queries import round_overview
from impactmodel.interchange import csvio
from tests.conftest import ENGINES
from tests.statements import statements

CODED = """authority,respondent,role,code,excerpt
{a},m1,manager,L1.tools,we brought in the CAF
{a},m1,manager,F.commissioning,
{a},p1,practitioner,L2.workload,the CAF is long
{b},m2,manager,L1.tools,
"""


def joined_counts(session, rnd) -> dict[int, int]:
    """Agreed codings per authority the long way: each coding through its respondent."""
    return dict(session.execute(
        sa.select(Respondent.authority_id, sa.func.count())
        .join(Coding, Coding.respondent_id == Respondent.id)
        .where(Respondent.round_id == rnd.id, Coding.agreed.is_(True))
        .group_by(Respondent.authority_id)).all())


def overview_counts(session, rnd) -> dict[int, int]:
    return {row["authority"].id: row["codings"] for row in round_overview(session, rnd) if row["codings"]}


def add_authorities(session, round_name: str, names: list[str]) -> None:
    rows = "".join(CODED.format(a=a, b=b).split("\n", 1)[1] for a, b in zip(names[::2], names[1::2]))
    csvio.import_coded(session, io.StringIO(CODED.split("\n", 1)[0] + "\n" + rows), round_name)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_codings_are_counted_under_their_respondents_authority(session):
    add_authorities(session, "Round 1", ["Northshire", "Southvale"])
    rnd = consortium.get_or_create_round(session, "Round 1")
    north = consortium.find_authority_by_name(session, "Northshire")
    south = consortium.find_authority_by_name(session, "Southvale")
    assert overview_counts(session, rnd) == joined_counts(session, rnd) == {north.id: 3, south.id: 1}

    # A coding stored with a wrong authority, or moved to another respondent, takes its
    # respondent's: the database sets it, whatever the application wrote.
    m2 = session.scalar(sa.select(Respondent).where(Respondent.reference == "m2"))
    session.add(Coding(round_id=rnd.id, respondent_id=m2.id, code_id="L1.tools", authority_id=north.id))
    session.commit()
    assert overview_counts(session, rnd) == {north.id: 3, south.id: 2}
    moved = session.scalar(sa.select(Coding).join(Respondent).where(Respondent.reference == "p1"))
    moved.respondent_id = m2.id
    session.commit()
    assert overview_counts(session, rnd) == joined_counts(session, rnd) == {north.id: 2, south.id: 3}
    not_agreed = session.scalar(sa.select(Coding).where(Coding.respondent_id == m2.id).limit(1))
    not_agreed.agreed = False
    session.commit()
    assert overview_counts(session, rnd) == joined_counts(session, rnd) == {north.id: 2, south.id: 2}

    # Merging moves the respondents, and their codings are counted under the target.
    admin.merge_authorities(session, "test", south, north)
    session.expire_all()
    assert overview_counts(session, rnd) == joined_counts(session, rnd) == {north.id: 4}


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_round_page_statements_do_not_grow_with_the_authorities(app, client, auth, session):
    add_authorities(session, "Round 1", ["Northshire", "Southvale"])
    rnd = consortium.get_or_create_round(session, "Round 1")
    auth.login(Role.ADMIN)

    def round_page():
        client.get(f"/rounds/{rnd.id}")     # the log-in's first page, and anything done once
        with statements(app) as seen:
            page = client.get(f"/rounds/{rnd.id}").get_data(as_text=True)
        return len(seen), page

    few, page = round_page()
    add_authorities(session, "Round 1", ["Eastmoor", "Westfield", "Upton", "Downham"])
    for name in ("Eastmoor", "Upton"):
        authority = consortium.find_authority_by_name(session, name)
        locality = Locality(authority_id=authority.id, name=f"{name} central")
        session.add(locality)
        session.flush()
        consortium.ensure_participation(session, rnd, authority).locality_id = locality.id
    session.commit()
    many, page = round_page()
    assert many == few
    assert "Eastmoor central" in page and "Upton central" in page
    row = page[page.index(">Westfield</a>"):]
    row = row[:row.index("</tr>")]
    # Westfield: one manager, no one else; one agreed coding.
    assert [cell.split("<")[0] for cell in row.split('<td class="num">')[1:]] == ["0", "1", "0", "0", "0", "1"]
