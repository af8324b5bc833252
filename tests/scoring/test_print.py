"""The printed round report: every column of the wide table fits the landscape page."""
from __future__ import annotations

import os
import re

import pytest

from impactmodel.auth.models import Role
from impactmodel.scoring import services
from tests.conftest import PASSWORD
from tests.scoring.helpers import figure_csvs, import_round

LONG = "Kingsmead Metropolitan Borough"


@pytest.mark.browser
def test_round_report_prints_every_column(live_server, page, session, make_user):
    coded, levels = figure_csvs((LONG, "Southby"))
    rnd = import_round(session, "Round 1", coded, levels)
    services.compute_scores(session, "test", rnd, seed=1, n_replicates=20)
    user = make_user(Role.ADMIN)
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_load_state()
    page.goto(f"{live_server}/rounds/{rnd.id}/report")

    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    if os.environ.get("SCORING_PRINT_PDF"):          # to look at the pages by eye
        with open(os.environ["SCORING_PRINT_PDF"], "wb") as f:
            f.write(pdf)
    box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert box and float(box.group(1)) > float(box.group(2)), "the report prints landscape"

    measure = """() => {
        const t = [...document.querySelectorAll('table.data')].find(
            t => t.caption && t.caption.textContent.includes('Integration confidence by authority'));
        return [t.scrollWidth, t.parentElement.clientWidth, document.documentElement.scrollWidth,
                t.querySelectorAll('thead th').length];
    }"""
    # On a laptop screen the table fits its column without scrolling sideways.
    page.set_viewport_size({"width": 1280, "height": 800})
    table_w, column_w, _, _ = page.evaluate(measure)
    assert table_w <= column_w, (table_w, column_w)
    # Laid out for print on that page, the wide table is no wider than the text column.
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 1010, "height": 700})     # A4 landscape less 12 mm margins, in CSS px
    widths = page.evaluate(measure)
    table_w, column_w, page_w, columns = widths
    assert columns == 16
    assert table_w <= column_w and page_w <= 1010, widths
    # The continuum chart's labels are not clipped on the left.
    x = page.evaluate("""() => Math.min(...[...document.querySelectorAll('svg.continuum text.name')]
                         .map(t => t.getBBox().x))""")
    assert x >= 0
