"""Every staff page, as an administrator on the demo consortium, scanned by axe in headless
Chromium: no serious or critical violation anywhere."""
from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Error as PlaywrightError

from impactmodel.demo.loader import DEMO_USERS
from tests.test_access_matrix import all_pages, world  # noqa: F401  (world is a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
AXE = Axe()
# Respondents' pages have their own scans (tests/fieldwork/test_browser.py); these are not pages.
SKIP_ENDPOINTS = {"auth.logout", "static"}
MAX_PER_ENDPOINT = 2


def _violations(page) -> list[str]:
    # A page that moves on by itself (a finished computation's progress page) may do so
    # during a scan, or just after the page it left was waited for: scan where it went.
    for attempt in range(3):
        try:
            results = AXE.run(page)
            break
        except PlaywrightError as exc:
            if "context was destroyed" not in str(exc) or attempt == 2:
                raise
            page.wait_for_load_state("networkidle")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def test_every_staff_page_has_no_serious_accessibility_violation(app, runner, live_server, page, world):  # noqa: F811
    loaded = runner.invoke(args=["demo-data"])
    assert loaded.exit_code == 0, loaded.output
    adapter = app.url_map.bind("localhost")

    def endpoint_of(path: str) -> str | None:
        try:
            return adapter.match(urlsplit(path).path, method="GET")[0]
        except Exception:   # not a page of the app (404, 405, a redirect rule)
            return None

    found: dict[str, list[str]] = {}
    page.goto(f"{live_server}/login")
    found["login"] = _violations(page)
    email, _name, _role, password = next(u for u in DEMO_USERS if u[0].startswith("admin@"))
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")

    # The pages the access matrix lists, then every page linked from a visited one.
    listed = [p for p in all_pages(world) if p.method == "GET" and "admin" in p.allowed
              and not p.endpoint.startswith("survey.") and p.endpoint not in SKIP_ENDPOINTS]
    queue = [p.url for p in listed if not callable(p.url)]
    queue.insert(0, "/")
    seen_paths: set[str] = set()
    per_endpoint: dict[str, int] = {}
    visited = []
    not_pages: set[str] = set()
    while queue:
        path = queue.pop(0)
        endpoint = endpoint_of(path)
        if (path in seen_paths or endpoint is None or endpoint in SKIP_ENDPOINTS
                or endpoint.startswith("survey.") or per_endpoint.get(endpoint, 0) >= MAX_PER_ENDPOINT):
            continue
        seen_paths.add(path)
        head = page.request.get(live_server + path, max_redirects=0)
        assert head.status < 500, f"{path} answered {head.status}"
        if (head.status != 200 or not head.headers.get("content-type", "").startswith("text/html")
                or not head.text().lstrip().lower().startswith("<!doctype html")):
            not_pages.add(endpoint)   # downloads, JSON, redirects, parts of a page fetched by its script
            continue
        per_endpoint[endpoint] = per_endpoint.get(endpoint, 0) + 1
        page.goto(live_server + path)
        visited.append(path)
        bad = _violations(page)
        if bad:
            found[path] = bad
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
            target = urlsplit(urljoin(live_server + path, href))
            if target.netloc == urlsplit(live_server).netloc and not target.fragment:
                queue.append(target.path + (f"?{target.query}" if target.query else ""))
    print(f"\n{len(visited)} staff pages scanned, of {len(per_endpoint)} views")
    failing = [f"{path}: {v}" for path, bad in found.items() for v in bad]
    assert failing == [], "\n".join(failing)
    # The scan reached every view the access matrix lists as a page an administrator opens
    # (those that answered a download, JSON, a redirect or a part of a page are not pages).
    pages = {p.endpoint for p in listed if not callable(p.url)}
    assert pages - set(per_endpoint) - not_pages == set()
