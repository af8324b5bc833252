"""Double coding: the seeded draw, blindness, the reliability report and reconciliation."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import sqlalchemy as sa

from impactmodel import codebook as codebook_mod
from impactmodel.auth.models import Role
from impactmodel.codebook.models import Coding
from impactmodel.coding import queries, reliability, services
from impactmodel.coding.models import DoubleCoding
from impactmodel.interchange import csvio
from impactmodel.stats import cohen_kappa, krippendorff_alpha, multicode_agreement, percent_agreement
from tests.conftest import ENGINES, PASSWORD

# Answer-level codes of the fixture (first coder A, blind second coder B):
#   u1: A {L1.tools}               B {L1.tools}
#   u2: A {L1.tools, F.ict+}       B {L1.tools}
#   u3: A {F.ict+}                 B {F.ict to_develop}
#   u4: A {L2.dialogue}            B {L1.tools}
FIRST = [[("L1.tools", None)], [("L1.tools", None), ("F.ict", "positive")], [("F.ict", "positive")],
         [("L2.dialogue", None)]]
SECOND = [[("L1.tools", None)], [("L1.tools", None)], [("F.ict", "to_develop")], [("L1.tools", None)]]


@pytest.fixture
def double_coded(app, session, make_round, make_authority, make_user, make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    a = make_user(Role.RESEARCHER, assigned=[borough])
    b = make_user(Role.RESEARCHER, assigned=[borough])
    answers = [make_answer(rnd, borough, f"Answer {i}: the panel and the CAF changed how we work.")
               for i in range(1, 5)]
    with app.app_context():
        for answer, codes in zip(answers, FIRST):
            for code, valence in codes:
                services.add_coding(session, a, answer.id, code, valence, 0, 8)
        drawn = services.draw_double_sample(session, a, rnd.id, b.id, 1.0, seed=7)
        assert sorted(d.answer_id for d in drawn) == [x.id for x in answers]
        for answer, codes in zip(answers, SECOND):
            for code, valence in codes:
                services.add_coding(session, b, answer.id, code, valence, 0, 8)
            services.finish_second_coding(session, b, answer.id)
    return rnd, a, b, answers


def _report(app, session, rnd):
    with app.app_context():
        data = queries.double_coded(session, rnd.id)
        codes = list(codebook_mod.load().codes)
        return data, codes, reliability.reliability_report(data, codes, n_resamples=200, seed=3)


def test_reliability_matches_the_statistics_engine_and_a_hand_calculation(app, session, double_coded):
    rnd, _a, _b, answers = double_coded
    data, codes, report = _report(app, session, rnd)
    assert data.units == [x.id for x in answers] and data.slots == ["first", "second"]
    per = {r.code: r for r in report.per_code}
    assert set(per) == {"L1.tools", "F.ict", "L2.dialogue"}
    assert report.unused_codes == len(codes) - 3

    # By hand, L1.tools: A = 1 1 0 0, B = 1 1 0 1.
    #   agreement 3/4; kappa: pe = .5*.75 + .5*.25 = .5, (0.75 - 0.5) / (1 - 0.5) = 0.5
    #   alpha: coincidences o11 = 4, o00 = 0... u3 gives o00 = 2, u4 o01 = o10 = 1; n = 8,
    #   n1 = 5, n0 = 3, Do = 2/8, De = 2*5*3/(8*7) = 30/56, alpha = 1 - 0.25/(30/56) = 8/15
    assert per["L1.tools"].percent_agreement.estimate == pytest.approx(0.75)
    assert per["L1.tools"].cohen_kappa.estimate == pytest.approx(0.5)
    assert per["L1.tools"].krippendorff_alpha.estimate == pytest.approx(8 / 15)
    # F.ict (valence aside): A = 0 1 1 0, B = 0 0 1 0: the mirror image, same figures.
    assert per["F.ict"].cohen_kappa.estimate == pytest.approx(0.5)
    assert per["F.ict"].krippendorff_alpha.estimate == pytest.approx(8 / 15)
    # L2.dialogue: A = 0 0 0 1, B = 0 0 0 0: pe = .75 = po, so kappa 0; De = 2*1*7/56 = Do, alpha 0.
    assert per["L2.dialogue"].percent_agreement.estimate == pytest.approx(0.75)
    assert per["L2.dialogue"].cohen_kappa.estimate == pytest.approx(0.0)
    assert per["L2.dialogue"].krippendorff_alpha.estimate == pytest.approx(0.0)

    # Pooled over all 4 x K decisions (K codebook codes): 3 disagree; A applied 5, B 4.
    n = 4 * len(codes)
    o = report.overall
    assert o.percent_agreement.estimate == pytest.approx((n - 3) / n)
    po, pe = (n - 3) / n, (5 / n) * (4 / n) + ((n - 5) / n) * ((n - 4) / n)
    assert o.cohen_kappa.estimate == pytest.approx((po - pe) / (1 - pe))
    # alpha: 9 ones among 2n values; o11 = 6 (three units both 1), o01 + o10 = 6.
    assert o.krippendorff_alpha.estimate == pytest.approx(1 - (6 / (2 * n)) / (2 * 9 * (2 * n - 9) / (2 * n * (2 * n - 1))))
    # Valences: both coders applied L1.tools twice (same) and F.ict once (differs): 2/3.
    assert o.valence_agreement == pytest.approx(2 / 3)
    assert per["F.ict"].valence_agreement == 0.0

    # The same figures from the engine directly.
    engine = multicode_agreement(data.presence_mapping(), units=data.units, codes=codes, coders=data.slots)
    assert o.krippendorff_alpha.estimate == pytest.approx(engine.overall.krippendorff_alpha)
    assert o.cohen_kappa.estimate == pytest.approx(engine.overall.cohen_kappa)
    j = codes.index("L1.tools")
    m = engine.presence[:, j, :]
    assert per["L1.tools"].cohen_kappa.estimate == pytest.approx(cohen_kappa(m[:, 0], m[:, 1]))
    assert per["L1.tools"].krippendorff_alpha.estimate == pytest.approx(krippendorff_alpha(m))
    assert per["L1.tools"].percent_agreement.estimate == pytest.approx(percent_agreement(m))
    # Intervals come from resampling answers and bracket the estimate.
    ci = per["L1.tools"].percent_agreement
    assert ci.low <= ci.estimate <= ci.high and ci.low < ci.high


def test_reliability_page_shows_raw_agreement_beside_kappa(app, client, auth, session, double_coded):
    rnd, *_ = double_coded
    app.config["CODING_BOOTSTRAP_RESAMPLES"] = app.config["CODING_BOOTSTRAP_RESAMPLES_PER_CODE"] = 100
    auth.login(Role.ANALYST)
    page = client.get(f"/coding/reliability?round={rnd.id}").get_data(as_text=True)
    assert "Percent agreement" in page and "Cohen's κ" in page and "Krippendorff's α" in page
    assert "kappa paradox" in page and "<svg" in page
    assert "0.53" in page and "75.0%" in page    # L1.tools: alpha 8/15, agreement 75%
    assert "resample respondents" in page and "from 4 respondents" in page
    assert "shown for reference only" not in page  # the same two coders throughout: kappa holds


def _qdpx(client, rnd) -> zipfile.ZipFile:
    r = client.get(f"/coding/rounds/{rnd.id}/export.qdpx")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    return zipfile.ZipFile(io.BytesIO(r.data))


def _qdpx_project(client, rnd) -> str:
    return _qdpx(client, rnd).read("project.qde").decode()


def _qdpx_sources(client, rnd) -> str:
    z = _qdpx(client, rnd)
    return "\n".join(z.read(n).decode() for n in z.namelist() if n.startswith("sources/"))


def test_blind_second_coder_never_sees_the_first_coding(app, client, session, make_round, make_authority,
                                                       make_user, make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    a = make_user(Role.RESEARCHER, email="first.coder@example.org", assigned=[borough])
    b = make_user(Role.RESEARCHER, email="second.coder@example.org", assigned=[borough])
    a.name, b.name = "Avery First", "Blake Second"
    session.commit()
    answer = make_answer(rnd, borough, "Co-location helped a great deal.")
    with app.app_context():
        first = services.add_coding(session, a, answer.id, "F.co_location", "positive", 0, 11)
        services.add_memo(session, a, answer.id, "Clear case of co-location as a feature")
        services.draw_double_sample(session, a, rnd.id, b.id, 0.2, seed=1)
    client.post("/login", data={"email": b.email, "password": PASSWORD})
    listing = client.get(f"/coding/answers/{answer.id}/codings").get_json()
    assert listing == {"codings": [], "blind": True}
    page = client.get(f"/coding/answers/{answer.id}?queue=double").get_data(as_text=True)
    panel = client.get(f"/coding/answers/{answer.id}/panel").get_data(as_text=True)
    for html in (page, panel):
        assert f'data-coding-id="{first.id}"' not in html
        assert "first.coder@example.org" not in html
        assert "Clear case of co-location" not in html
        assert "<mark" not in html
    assert "Blind second coding" in page
    # Nor through the round's downloads.
    csv_text = client.get(f"/rounds/{rnd.id}/export/coded.csv").get_data(as_text=True)
    assert csv_text.startswith("authority,") and "F.co_location" not in csv_text
    project = _qdpx_project(client, rnd)      # researchers may always download the round
    assert "Co-location helped" in _qdpx_sources(client, rnd)
    assert a.name not in project and "<PlainTextSelection" not in project and "<Note" not in project
    queue = client.get("/coding/?status=all").get_data(as_text=True)
    assert "Co-location helped" in queue and '<td class="num">1</td>' not in queue   # not even the count
    # Nor can the blind coder change the first coding, or open the disagreements.
    assert client.post(f"/coding/codings/{first.id}/delete", json={}).status_code == 403
    assert client.post(f"/coding/codings/{first.id}", json={"valence": "to_develop"}).status_code == 403
    r = client.post(f"/coding/answers/{answer.id}/codings", json={"code": "F.co_location", "valence": "to_develop"})
    assert r.status_code == 201 and r.get_json()["coding"]["agreed"] is False
    own = r.get_json()["coding"]["id"]
    project = _qdpx_project(client, rnd)
    assert "Blake Second" in project and project.count("<PlainTextSelection") == 1
    assert a.name not in project and "<Note" not in project
    client.post(f"/coding/answers/{answer.id}/done", json={})
    assert "Co-location helped" not in client.get(f"/coding/disagreements?round={rnd.id}").get_data(as_text=True)
    # Done but not reconciled: still blind everywhere, the export included.
    assert [c["id"] for c in client.get(f"/coding/answers/{answer.id}/codings").get_json()["codings"]] == [own]
    page = client.get(f"/coding/answers/{answer.id}").get_data(as_text=True)
    assert "Blind second coding" in page and f'data-coding-id="{first.id}"' not in page
    project = _qdpx_project(client, rnd)
    assert a.name not in project and "first.coder@example.org" not in project and "<Note" not in project
    assert "Blake Second" in project and project.count("<PlainTextSelection") == 1
    assert "Co-location helped" in _qdpx_sources(client, rnd)
    # ...nor the reliability report, whose "applied x of n" would give the first coder's codes away.
    app.config["CODING_BOOTSTRAP_RESAMPLES"] = app.config["CODING_BOOTSTRAP_RESAMPLES_PER_CODE"] = 20
    mine = client.get(f"/coding/reliability?round={rnd.id}").get_data(as_text=True)
    assert "F.co_location" not in mine and "until they are reconciled" in mine
    # The first coder sees only the agreed coding, not the blind one, on the page or in the export.
    client.post("/logout")
    client.post("/login", data={"email": a.email, "password": PASSWORD})
    mine = client.get(f"/coding/answers/{answer.id}/codings").get_json()
    assert [c["id"] for c in mine["codings"]] == [first.id] and mine["blind"] is False
    project = _qdpx_project(client, rnd)
    assert "Avery First" in project and "Blake Second" not in project
    assert project.count("<Coding ") == 1
    # Anyone else sees the answer in the reliability report.
    assert "F.co_location" in client.get(f"/coding/reliability?round={rnd.id}").get_data(as_text=True)


def test_a_blind_coding_is_fixed_once_marked_done(app, client, session, make_round, make_authority,
                                                  make_user, make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    a = make_user(Role.RESEARCHER, assigned=[borough])
    b = make_user(Role.RESEARCHER, assigned=[borough])
    answer = make_answer(rnd, borough, "Co-location helped a great deal.")
    with app.app_context():
        services.add_coding(session, a, answer.id, "F.co_location", "positive", 0, 11)
        services.draw_double_sample(session, a, rnd.id, b.id, 1.0, seed=1)
        own = services.add_coding(session, b, answer.id, "L1.tools", None, 0, 11)
        memo = services.add_memo(session, b, answer.id, "Tools rather than co-location")
        services.finish_second_coding(session, b, answer.id)
        for attempt in (lambda: services.add_coding(session, b, answer.id, "F.co_location", "positive", 0, 11),
                        lambda: services.update_coding(session, b, own.id, code_id="F.co_location",
                                                       valence="positive"),
                        lambda: services.delete_coding(session, b, own.id),
                        lambda: services.add_memo(session, b, answer.id, "On second thoughts"),
                        lambda: services.delete_memo(session, b, memo.id)):
            with pytest.raises(services.CodingError, match="marked done"):
                attempt()
    own_id, memo_id = own.id, memo.id
    before = sorted((c.code_id, c.coder_id, c.agreed) for c in session.scalars(sa.select(Coding)))
    client.post("/login", data={"email": b.email, "password": PASSWORD})
    for url, body in ((f"/coding/answers/{answer.id}/codings", {"code": "F.co_location", "valence": "positive"}),
                      (f"/coding/codings/{own_id}", {"code": "F.co_location", "valence": "positive"}),
                      (f"/coding/codings/{own_id}/delete", {}),
                      (f"/coding/answers/{answer.id}/memos", {"text": "On second thoughts"}),
                      (f"/coding/memos/{memo_id}/delete", {})):
        r = client.post(url, json=body)
        assert r.status_code == 422 and "marked done" in r.get_json()["error"], url
    session.expire_all()
    assert sorted((c.code_id, c.coder_id, c.agreed) for c in session.scalars(sa.select(Coding))) == before
    page = client.get(f"/coding/answers/{answer.id}").get_data(as_text=True)
    assert "marked done" in page
    # Reconciliation ends the blind coding; the answer is then coded like any other.
    with app.app_context():
        services.reconcile(session, a, answer.id, {("L1.tools", "positive")})
    r = client.post(f"/coding/answers/{answer.id}/codings", json={"code": "F.co_location", "valence": "positive"})
    assert r.status_code == 201 and r.get_json()["coding"]["agreed"] is True


def test_the_draw_is_seeded_and_respects_assignments(app, session, make_round, make_authority, make_user,
                                                    make_answer):
    rnd = make_round()
    mine, other = make_authority(round=rnd), make_authority(round=rnd)
    a = make_user(Role.ADMIN)
    b = make_user(Role.RESEARCHER, assigned=[mine])
    c = make_user(Role.RESEARCHER, assigned=[mine])
    answers = [make_answer(rnd, mine, f"Answer {i}") for i in range(10)]
    elsewhere = make_answer(rnd, other, "Not assigned to the second coders")
    with app.app_context():
        for ans in answers + [elsewhere]:
            services.add_coding(session, a, ans.id, "L1.tools", None, 0, 3)
        first = [d.answer_id for d in services.draw_double_sample(session, a, rnd.id, b.id, 0.2, seed=42)]
        again = [d.answer_id for d in services.draw_double_sample(session, a, rnd.id, c.id, 0.2, seed=42)]
        assert len(first) == 2 and first == again         # 20% of 10, same seed, same answers
        assert elsewhere.id not in first
        with pytest.raises(services.CodingError, match="share"):
            services.draw_double_sample(session, a, rnd.id, b.id, 0, seed=1)
        rest = services.draw_double_sample(session, a, rnd.id, b.id, 1.0, seed=42)
        assert sorted(first + [d.answer_id for d in rest]) == [x.id for x in answers]
        with pytest.raises(services.CodingError, match="no coded answers"):
            services.draw_double_sample(session, a, rnd.id, b.id, 1.0, seed=42)


@pytest.mark.parametrize("database_url", ENGINES, indirect=True)
def test_reconciliation_sets_the_agreed_codings_that_exports_use(app, client, auth, session, double_coded):
    rnd, a, b, answers = double_coded
    _, _, before = _report(app, session, rnd)
    admin = auth.login(Role.ADMIN)
    page = client.get(f"/coding/disagreements?round={rnd.id}").get_data(as_text=True)
    assert f"Answer {answers[0].id}" not in page          # u1: both coders agree
    for u in answers[1:]:
        assert f"Answer {u.id} ·" in page
    keep = {answers[1].id: ["L1.tools|positive"], answers[2].id: ["F.ict|to_develop"],
            answers[3].id: ["L1.tools|positive"]}
    for answer_id, values in keep.items():
        r = client.post(f"/coding/answers/{answer_id}/reconcile", data={"keep": values})
        assert r.status_code == 302
    assert client.post(f"/coding/rounds/{rnd.id}/reconcile-agreed").status_code == 302
    assert session.scalar(sa.select(sa.func.count()).select_from(DoubleCoding)
                          .where(DoubleCoding.reconciled_at.is_(None))) == 0
    session.expire_all()
    agreed = sorted((c.answer_id, c.code_id, c.valence.value, c.coder_id) for c in session.scalars(
        sa.select(Coding).where(Coding.agreed.is_(True))))
    assert agreed == sorted([(answers[0].id, "L1.tools", "positive", a.id),
                             (answers[1].id, "L1.tools", "positive", a.id),
                             (answers[2].id, "F.ict", "to_develop", b.id),
                             (answers[3].id, "L1.tools", "positive", b.id)])
    out = io.StringIO()
    with app.app_context():
        assert csvio.export_coded(session, rnd.name, out) == 4
    assert "L2.dialogue" not in out.getvalue()
    # Reconciling changes what scores use, not what each coder did: reliability is unchanged.
    _, _, after = _report(app, session, rnd)
    assert after.overall.krippendorff_alpha.estimate == before.overall.krippendorff_alpha.estimate
    assert admin.id not in {c[3] for c in agreed}


def test_second_coder_cannot_reconcile_their_own_work(app, session, double_coded):
    rnd, a, b, answers = double_coded
    with app.app_context(), pytest.raises(services.NotAllowed):
        services.reconcile(session, b, answers[3].id, {("L1.tools", "positive")})


def test_reliability_intervals_resample_respondents_not_answers():
    """Answers of one respondent go into a bootstrap resample together."""
    from impactmodel.stats import bootstrap_ci

    units = [1, 2, 3, 4, 5, 6, 7, 8]
    respondent = {1: 10, 2: 10, 3: 10, 4: 20, 5: 20, 6: 30, 7: 40, 8: 40}
    first = {1: {("L1.tools", "positive")}, 2: {("L1.tools", "positive")}, 3: set(), 4: set(),
             5: {("L1.tools", "positive")}, 6: {("L1.tools", "positive")}, 7: set(), 8: set()}
    second = {1: {("L1.tools", "positive")}, 2: set(), 3: set(), 4: {("L1.tools", "positive")},
              5: {("L1.tools", "positive")}, 6: {("L1.tools", "positive")}, 7: set(), 8: set()}
    data = queries.DoubleCoded(units=units, slots=["first", "second"], pairs={"first": first, "second": second},
                               coders={"first": {u: "Avery" for u in units},
                                       "second": {u: "Blake" if u < 5 else "Casey" for u in units}},
                               respondents=respondent)
    report = reliability.reliability_report(data, ["L1.tools", "L2.dialogue"], n_resamples=300, seed=5)
    assert report.n_clusters == 4 and report.raters_vary
    m = np.array([[int(bool(first[u])), int(bool(second[u]))] for u in units])
    clusters = [respondent[u] for u in units]
    want = bootstrap_ci(m, krippendorff_alpha, n_resamples=300, rng=5, clusters=clusters)
    naive = bootstrap_ci(m, krippendorff_alpha, n_resamples=300, rng=5)
    row = report.per_code[0]
    assert row.code == "L1.tools"
    assert (row.krippendorff_alpha.low, row.krippendorff_alpha.high) == pytest.approx((want.low, want.high))
    assert (want.low, want.high) != pytest.approx((naive.low, naive.high))
    # One coder throughout in each slot: kappa's two fixed raters hold.
    data.coders["second"] = {u: "Blake" for u in units}
    assert not reliability.reliability_report(data, ["L1.tools"], n_resamples=50, seed=5).raters_vary


def test_the_first_coding_stays_as_drawn_until_reconciled(app, session, make_round, make_authority,
                                                          make_user, make_answer):
    rnd = make_round()
    borough = make_authority(round=rnd)
    a = make_user(Role.RESEARCHER, assigned=[borough])
    b = make_user(Role.RESEARCHER, assigned=[borough])
    answer = make_answer(rnd, borough, "Co-location helped a great deal.")
    with app.app_context():
        first = services.add_coding(session, a, answer.id, "F.co_location", "positive", 0, 11)
        services.draw_double_sample(session, a, rnd.id, b.id, 1.0, seed=1)
        for attempt in (lambda: services.add_coding(session, a, answer.id, "L1.tools", None, 0, 11),
                        lambda: services.update_coding(session, a, first.id, valence="to_develop"),
                        lambda: services.delete_coding(session, a, first.id)):
            with pytest.raises(services.CodingError, match="drawn for double coding"):
                attempt()
        services.add_coding(session, b, answer.id, "F.co_location", "positive", 0, 11)
        services.finish_second_coding(session, b, answer.id)
        services.reconcile(session, a, answer.id, {("F.co_location", "positive")})
        assert services.add_coding(session, a, answer.id, "L1.tools", None, 0, 11).agreed


def test_scoring_can_rescore_double_coded_answers_as_the_second_coder_coded_them(
        app, session, make_round, make_authority, make_user, make_answer):
    """The confidence index's sensitivity to the coder (docs/METHODOLOGY.md "Sensitivity")
    swaps, for each finished double-coded answer, the agreed codings for the second coder's."""
    from impactmodel.auth.models import Role
    from impactmodel.coding import services
    from impactmodel.scoring import queries

    rnd = make_round()
    borough = make_authority(round=rnd)
    first, second = (make_user(Role.RESEARCHER, assigned=[borough]) for _ in range(2))
    answer = make_answer(rnd, borough, "The panel meets weekly and we talk more.", role="manager")
    with app.app_context():
        services.add_coding(session, first, answer.id, "L1.forums", None, 4, 9)
        services.draw_double_sample(session, first, rnd.id, second.id, 1.0, seed=1)
        services.add_coding(session, second, answer.id, "L2.dialogue", None, 30, 39)
        services.finish_second_coding(session, second, answer.id)
        data = queries.load_round(session, rnd)
    cols = data.columns
    agreed = data.score_input.authorities[0]
    swapped = data.second_coder_input.authorities[0]
    row = list(agreed.role).index(1)
    assert agreed.impacts[row, cols.impact.index("L1.forums")] and not agreed.impacts[row, cols.impact.index("L2.dialogue")]
    assert swapped.impacts[row, cols.impact.index("L2.dialogue")] and not swapped.impacts[row, cols.impact.index("L1.forums")]
