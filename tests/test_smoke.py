import gc

import pytest

from tests.conftest import ENGINES


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_login_page_and_home(client, auth):
    assert client.get("/login").status_code == 200
    auth.login()
    page = client.get("/")
    assert page.status_code == 200
    assert b"Rounds" in page.data


def test_a_database_without_the_schema_gets_a_plain_instruction(tmp_path):
    from impactmodel import create_app
    from tests.conftest import config_for
    app = create_app(config_for(f"sqlite:///{tmp_path / 'empty.sqlite'}"))
    from impactmodel.cli import cli  # the console script's group, as a user runs it
    result = app.test_cli_runner().invoke(cli=cli, args=["codebook", "check"])
    assert result.exit_code != 0 and "run `impactmodel db upgrade` first" in result.output
    page = app.test_client().post("/login", data={"email": "a@example.org", "password": "whatever it is"})
    assert page.status_code == 503 and "impactmodel db upgrade" in page.get_data(as_text=True)


def test_the_objects_an_app_is_built_from_are_kept_out_of_full_collections(app):
    # The modules, classes and functions of the first app of the process are set aside, so
    # the collector's full passes in the middle of requests do not walk them every time.
    assert gc.get_freeze_count() > 50_000
