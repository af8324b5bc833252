"""CSV imports refuse text no database stores (NUL, an encoded surrogate, bytes that are
not UTF-8), naming the line, and import nothing."""
from __future__ import annotations

import io

import pytest

from impactmodel.auth.models import Role
from impactmodel.interchange import csvio
from tests.conftest import ENGINES
from tests.interchange.test_csv_imports import GOOD, counts

# NUL in line 2's excerpt, in line 3's coder; an encoded surrogate (bytes no UTF-8 text
# contains) in line 5's excerpt.
WITH_NUL = GOOD.replace("Locality teams", "Locality\x00teams").encode()
WITH_NUL_ON_LINE_3 = GOOD.replace(",,,rk", ",,,r\x00k").encode()
WITH_SURROGATE = GOOD.encode().replace(b"more confident", b"more \xed\xa0\x80confident")


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
@pytest.mark.parametrize("raw, message", [
    (WITH_NUL, "line 2: contains a NUL character, which cannot be stored: remove it and try again"),
    (WITH_NUL_ON_LINE_3, "line 3: contains a NUL character"),
    (WITH_SURROGATE, "line 5: is not UTF-8 text: save the file as 'CSV UTF-8' and try again"),
])
def test_cli_import_names_the_line_and_imports_nothing(runner, session, tmp_path, raw, message):
    path = tmp_path / "in.csv"
    path.write_bytes(raw)
    for check in ([], ["--check"]):
        result = runner.invoke(args=["import", "coded", str(path), "--round", "R", *check])
        assert result.exit_code != 0 and message in result.output
    assert counts(session) == (0, 0, 0)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_web_import_names_the_line_and_imports_nothing(client, auth, session):
    auth.login(Role.RESEARCHER)
    for raw, line, message in ((WITH_NUL, 2, "contains a NUL character, which cannot be stored"),
                               (WITH_SURROGATE, 5, "is not UTF-8 text: save the file as")):
        response = client.post("/import", data={"kind": "coded", "round_choice": "__new__", "new_round": "R",
                                                "file": (io.BytesIO(raw), "c.csv")},
                               content_type="multipart/form-data")
        assert response.status_code == 422
        assert f"<tr><td>{line}</td><td>—</td><td>{message}" in response.get_data(as_text=True)
    assert counts(session) == (0, 0, 0)


def test_a_text_stream_with_an_unpaired_surrogate_is_refused(app, session):
    """Text that reached the import already decoded (as the demo loader's does)."""
    text = GOOD.replace("the CAF", "the \udc80CAF")
    with app.app_context(), pytest.raises(csvio.ImportRejected) as refused:
        csvio.import_coded(session, io.StringIO(text, newline=""), "R")
    assert [str(p) for p in refused.value.problems] == [
        "line 4: contains an unpaired surrogate character, which cannot be stored: remove it and try again"]
    assert counts(session) == (0, 0, 0)
