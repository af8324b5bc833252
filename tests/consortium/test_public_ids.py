"""Pages and downloads address an authority by its random public id, never by its sequential id."""
from __future__ import annotations

import io
import re

import pytest

from impactmodel.auth.models import Role
from impactmodel.consortium import services as consortium
from impactmodel.interchange import csvio
from impactmodel.scoring import services as scoring
from tests.conftest import ENGINES


@pytest.fixture
def scored(session):
    codes = ["L1.tools", "F.commissioning", "F.locality_working", "L3.cyp.confidence"]
    rows = "authority,respondent,role,code\n" + "".join(   # different codes, different scores
        f"Borough {n},m1,manager,{code}\nBorough {n},p1,practitioner,{code}\n"
        for i, n in enumerate("ABC") for code in codes[:i + 1])
    csvio.import_coded(session, io.StringIO(rows), "Round 1")
    rnd = consortium.get_or_create_round(session, "Round 1")
    scoring.compute_scores(session, "test", rnd, n_replicates=20)
    return rnd, [consortium.find_authority_by_name(session, f"Borough {n}") for n in "ABC"]


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_profile_links_and_downloads_carry_the_public_id(client, auth, scored):
    rnd, authorities = scored
    auth.login(Role.ANALYST)
    page = client.get(f"/rounds/{rnd.id}/scores").get_data(as_text=True)
    linked = re.findall(rf"/rounds/{rnd.id}/scores/authorities/([^/\"]+)\"", page)
    assert sorted(linked) == sorted(a.public_id for a in authorities)
    a = authorities[0]
    profile = client.get(f"/rounds/{rnd.id}/scores/authorities/{a.public_id}")
    assert profile.status_code == 200 and a.label in profile.get_data(as_text=True)
    assert a.name not in profile.get_data(as_text=True)
    download = client.get(f"/rounds/{rnd.id}/scores/authorities/{a.public_id}/tables/components.csv")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == \
        f'attachment; filename="round-{rnd.id}-authority-{a.public_id}-components.csv"'


def test_public_ids_say_nothing_of_creation_order(session, make_authority):
    ids = [make_authority().public_id for _ in range(30)]
    assert len(set(ids)) == 30
    assert ids != sorted(ids) and ids != sorted(ids, reverse=True)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{16}", i) for i in ids)


def test_old_numeric_urls_redirect_only_for_those_who_see_the_name(client, auth, scored, make_user):
    rnd, (mine, other, _third) = scored
    old = f"/rounds/{rnd.id}/scores/authorities/{mine.id}"
    new = f"/rounds/{rnd.id}/scores/authorities/{mine.public_id}"
    auth.login(Role.RESEARCHER, assigned=[mine])
    response = client.get(old)
    assert response.status_code == 302 and response.headers["Location"] == new
    download = client.get(f"{old}/tables/levels.xlsx")
    assert download.status_code == 302 and download.headers["Location"] == f"{new}/tables/levels.xlsx"
    # An authority the researcher sees only by its label, and an id that does not exist,
    # answer alike: the numeric id tells nothing.
    assert client.get(f"/rounds/{rnd.id}/scores/authorities/{other.id}").status_code == 404
    assert client.get(f"/rounds/{rnd.id}/scores/authorities/99999").status_code == 404
    assert client.get(f"/rounds/{rnd.id}/scores/authorities/not-a-public-id").status_code == 404
    auth.logout()
    auth.login(Role.ANALYST)
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    auth.logout()
    auth.login(Role.ADMIN)
    assert client.get(f"/rounds/{rnd.id}/scores/authorities/{other.id}").headers["Location"].endswith(
        other.public_id)
    assert client.get(f"/authorities/{other.id}").headers["Location"] == f"/authorities/{other.public_id}"
    # A form posted to a numeric URL is not redirected (it would turn into a GET).
    assert client.post(f"/authorities/{other.id}/rename", data={"name": "X"}).status_code == 404
