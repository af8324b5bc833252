"""Every command the README shows runs as written against the demo database."""
from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from impactmodel.cli import cli
from impactmodel.consortium.models import Respondent
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
# Serving runs until stopped; the make-demo tests check the port it is given.
NOT_RUN = {"run"}


def readme_commands() -> list[str]:
    """The lines of the README's block of `impactmodel` commands, comments removed."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    block = next(b for b in blocks if b.startswith("impactmodel db upgrade"))
    return [line for line in block.splitlines() if line.strip()]


@pytest.mark.slow
def test_every_readme_command_runs_against_the_demo(app, runner, session, tmp_path, monkeypatch):
    loaded = runner.invoke(args=["demo-data"])
    assert loaded.exit_code == 0, loaded.output
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)   # where the commands' files are read and written

    ran = []
    for line in readme_commands():
        words = shlex.split(line, comments=True)
        assert words[0] == "impactmodel", line
        args, out = words[1:], None
        if ">" in args:
            args, out = args[:args.index(">")], args[args.index(">") + 1]
        if args[0] in NOT_RUN:
            continue
        result = runner.invoke(cli=cli, args=args, input=f"{PASSWORD}\n{PASSWORD}\n")
        assert result.exit_code == 0, f"{line}\n{result.output}"
        if out:
            (tmp_path / out).write_text(result.stdout, encoding="utf-8")
        ran.append(args[:2])
    assert len(ran) == len(readme_commands()) - 1

    # What the commands wrote is there, and the example files' people were imported.
    assert (tmp_path / "coded.csv").read_text().startswith("authority,respondent,role,code")
    assert (tmp_path / "round2.qdpx").stat().st_size > 0
    assert (tmp_path / "matrix.xlsx").stat().st_size > 0
    examples = session.scalars(sa.select(Respondent.reference)
                               .where(Respondent.reference.like("example-%"))).all()
    assert sorted(examples) == ["example-manager-1", "example-parent-1", "example-practitioner-1"]
