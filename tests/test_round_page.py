"""The round page links to each part's pages about the round, as far as the viewer may go."""
from impactmodel.auth.models import Role


def test_round_page_tiles_follow_the_viewer(client, auth, make_round):
    rnd = make_round("Tiles round")
    auth.login(Role.RESEARCHER)
    page = client.get(f"/rounds/{rnd.id}").get_data(as_text=True)
    for label, href in [("Interviews", f"/fieldwork/?round={rnd.id}"),
                        ("Coding queue", f"/coding/?round={rnd.id}"),
                        ("Integration confidence", f"/rounds/{rnd.id}/scores")]:
        assert label in page and href in page
    auth.logout()
    auth.login(Role.ANALYST)
    page = client.get(f"/rounds/{rnd.id}").get_data(as_text=True)
    assert "Integration confidence" in page and "Coding queue" not in page and "Interviews" not in page
