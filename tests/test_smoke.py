import pytest

from tests.conftest import ENGINES


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_login_page_and_home(client, auth):
    assert client.get("/login").status_code == 200
    auth.login()
    page = client.get("/")
    assert page.status_code == 200
    assert b"Rounds" in page.data
