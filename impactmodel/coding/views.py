"""The coding workbench's pages and its JSON calls (thin: parse, call a service, answer)."""
from __future__ import annotations

import random

import sqlalchemy as sa
from flask import (Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template,
                   request, url_for)
from flask_login import current_user

from impactmodel import codebook as codebook_mod
from impactmodel import downloads, jobs
from impactmodel.access import requires
from impactmodel.auth.models import Role, User
from impactmodel.codebook import CodebookError
from impactmodel.codebook import exchange
from impactmodel.codebook.models import Coding, CodebookVersion
from impactmodel.coding import (codesearch, context, offsets, qdpx_import, queries, reliability, services,
                                stored_reliability, suggest)
from impactmodel.coding.disagreements import page_of_disagreements
from impactmodel.coding.forms import CodebookImportForm, DrawForm, QdpxImportForm, ThresholdForm
from impactmodel.coding.models import DoubleCoding
from impactmodel.coding.qdpx import export_qdpx as write_qdpx
from impactmodel.consortium.models import Round
from impactmodel.db import db
from impactmodel.enums import RespondentRole
from impactmodel.inputs import as_id, json_object, takes_json

bp = Blueprint("coding", __name__, url_prefix="/coding")
SEARCH_MAX = 200      # characters of a codebook search that count


def _int(name: str) -> int | None:
    return as_id(request.args.get(name, ""))


def _filter() -> queries.QueueFilter:
    role = request.args.get("role") or None
    if role not in {r.value for r in RespondentRole}:
        role = None
    status = request.args.get("status", "uncoded")
    return queries.QueueFilter(
        round_id=_int("round"), authority_id=_int("authority"), role=role,
        key_group=request.args.get("key_group") or None, question=request.args.get("question") or None,
        status=status if status in ("uncoded", "coded", "review", "all") else "uncoded",
        search=request.args.get("search", "")[:SEARCH_MAX] or None)


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 answer``, ``2 answers``: the count with the word that fits it."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


def _fail(exc: Exception, status: int):
    if _wants_json():
        return jsonify(error=str(exc)), status
    flash(str(exc), "error")
    return redirect(request.referrer or url_for("coding.queue"))


def _context(answer_id: int) -> services.AnswerContext:
    try:
        return services.answer_context(db.session, current_user, answer_id)
    except LookupError:
        abort(404)
    except services.NotAllowed:
        abort(403)


# --- The queue -----------------------------------------------------------------------

@bp.get("/")
@requires("can_code")
def queue():
    flt = _filter()
    page_size = 50
    page = max(1, _int("page") or 1)
    answered = queries.questions_answered(db.session, current_user, flt.round_id)
    found = queries.queue_page(db.session, current_user, flt, page, page_size, answered)
    rows = queries.answer_rows(db.session, found.ids)
    blind = set(db.session.scalars(sa.select(DoubleCoding.answer_id).where(
        DoubleCoding.second_coder_id == current_user.id, DoubleCoding.reconciled_at.is_(None),
        DoubleCoding.answer_id.in_(found.ids))))
    for row in rows:
        if row.id in blind:
            row.n_codings = None     # even the count of the first coder's codes stays hidden
    choices = queries.filter_choices(db.session, current_user, flt.round_id, answered)
    pending = db.session.scalar(sa.select(sa.func.count()).select_from(DoubleCoding).where(
        DoubleCoding.second_coder_id == current_user.id, DoubleCoding.second_done_at.is_(None)))
    return render_template("coding/queue.html", rows=rows, total=found.total, page=page,
                           pages=max(1, -(-found.total // page_size)), flt=flt, choices=choices,
                           roles=list(RespondentRole), pending=pending,
                           round=db.session.get(Round, flt.round_id) if flt.round_id else None)


# --- One answer ----------------------------------------------------------------------

def _blind_filter(round_id: int) -> queries.QueueFilter:
    """The filter a blind second coder works in: the one they came with, in the round
    of the answer they are coding."""
    flt = _filter()
    flt.round_id = flt.round_id or round_id
    return flt


def _neighbours(answer_id: int, round_id: int) -> tuple[int | None, int | None, str]:
    """Previous and next answer in the queue the coder came from (ids ascending); in the
    double-coding queue, answers still waiting for their blind coding in the same round
    and filter."""
    if request.args.get("queue") == "double":
        ids = queries.blind_queue_query(db.session, current_user, _blind_filter(round_id), include=answer_id)
        qs = "double"
    else:
        ids = queries.queue_query(db.session, current_user, _filter())
        qs = ""
    prev_id, next_id = queries.neighbours(db.session, ids, answer_id)
    return prev_id, next_id, qs


def _frequent(user: User, cb) -> list[tuple[str, str, str]]:
    """The coder's nine most used (code, valence) pairs: the digit shortcuts."""
    rows = db.session.execute(
        sa.select(Coding.code_id, Coding.valence, sa.func.count().label("n"))
        .where(Coding.coder_id == user.id).group_by(Coding.code_id, Coding.valence)
        .order_by(sa.desc("n"), Coding.code_id).limit(20)).all()
    out = []
    for code_id, valence, _n in rows:
        code = cb.get(code_id)
        v = valence.value if hasattr(valence, "value") else valence
        if code is not None and v in code.valences:
            out.append((code_id, v, code.label))
    return out[:9]


def _panel_data(ctx: services.AnswerContext) -> dict:
    text = ctx.answer.text or ""
    cb = codebook_mod.load()
    codings = services.visible_codings(db.session, ctx, current_user)
    memos = services.visible_memos(db.session, ctx, current_user)
    items = []
    for c in codings:
        span = _span(c, text)
        code = cb.get(c.code_id)
        review = span is None and (c.needs_review or c.start is not None)
        start, end = span or (0, len(text))
        items.append({"coding": c, "label": code.label if code else c.code_id,
                      "valences": list(code.valences) if code else [c.valence.value],
                      "excerpt": (c.excerpt or "") if review else (c.excerpt or text[start:end]),
                      "whole": span is None and not review, "review": review, "span": span,
                      "start16": offsets.to_browser(text, start) if span else None,
                      "end16": offsets.to_browser(text, end) if span else None})
    # Highlighted text: cut at every span boundary, mark the pieces any coding covers.
    spans = [(i["span"], i["coding"].code_id) for i in items if i["span"]]
    cuts = sorted({0, len(text)} | {s for (s, _e), _c in spans} | {e for (_s, e), _c in spans})
    segments = []
    for a, b in zip(cuts, cuts[1:]):
        covering = [code for (s, e), code in spans if s <= a and b <= e]
        segments.append((text[a:b], covering))
    # Coders and memo authors by name; their e-mail only as a tooltip for administrators.
    ids = {i["coding"].coder_id for i in items} | {m.author_id for m in memos}
    people = {uid: (name, email) for uid, name, email in db.session.execute(
        sa.select(User.id, User.name, User.email).where(User.id.in_(ids - {None})))} if ids - {None} else {}
    for i in items:
        name, email = people.get(i["coding"].coder_id, (None, None))
        i["coder_name"] = name or _coder_label(i["coding"].coder)
        i["coder_email"] = email
    authors = {uid: name for uid, (name, _e) in people.items()}
    return {"items": items, "segments": segments, "memos": memos, "authors": authors,
            "author_emails": {uid: e for uid, (_n, e) in people.items()}, "ctx": ctx,
            "suggestions": suggest.for_answer(db.session, ctx, current_user),
            "coding_labels": {i["coding"].id: f'{i["coding"].code_id} {i["label"]}' for i in items}}


def _span(c: Coding, text: str) -> tuple[int, int] | None:
    """The coding's span in the answer as it is now; None without one (whole answer, or
    flagged for review). A span that no longer fits the text is treated as flagged."""
    if c.start is None or c.needs_review or not 0 <= c.start < c.end <= len(text):
        return None
    return c.start, c.end


def _coder_label(coder: str) -> str:
    """A coding with no known user (imported): its coder as recorded, but never an e-mail."""
    if "@" in (coder or ""):
        return "another coder"
    return coder or "unknown coder"


@bp.get("/answers/<int:answer_id>")
@requires("can_code")
def answer(answer_id: int):
    ctx = _context(answer_id)
    row = queries.answer_row(db.session, answer_id)
    if row is None:
        abort(404)
    cb = codebook_mod.load()
    prev_id, next_id, qmode = _neighbours(answer_id, row.round.id)
    nav_args = {"queue": "double", **_blind_filter(row.round.id).args()} if qmode else _filter().args()
    return render_template(
        "coding/answer.html", row=row, blind=ctx.blind is not None, nav_args=nav_args,
        whole_response=context.whole_response(db.session, current_user, ctx),
        blind_done=ctx.blind is not None and ctx.blind.second_done_at is not None,
        browser_text=offsets.browser_text(row.text), codebook=cb, frequent=_frequent(current_user, cb),
        prev_url=url_for("coding.answer", answer_id=prev_id, **nav_args) if prev_id else None,
        next_url=url_for("coding.answer", answer_id=next_id, **nav_args) if next_id else None,
        queue_url=url_for("coding.double", round=row.round.id) if qmode else url_for("coding.queue", **_filter().args()),
        authority=current_user.authority_display_name(row.authority), **_panel_data(ctx))


@bp.get("/answers/<int:answer_id>/panel")
@requires("can_code")
def panel(answer_id: int):
    """The codings and memos of an answer as an HTML fragment (the page refreshes it)."""
    ctx = _context(answer_id)
    return render_template("coding/_panel.html", blind=ctx.blind is not None, **_panel_data(ctx))


def _json_span(ctx: services.AnswerContext, data: dict) -> tuple[int | None, int | None]:
    """Browser offsets (UTF-16, line breaks as LF) to Python indexes into the answer."""
    if data.get("start") is None and data.get("end") is None:
        return None, None
    try:
        return offsets.span_to_python(ctx.answer.text or "", int(data["start"]), int(data["end"]))
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise services.CodingError(str(exc) if isinstance(exc, ValueError) else
                                   "a span needs a start and an end") from None


def _span_or_whole_answer(ctx: services.AnswerContext, data: dict) -> tuple[int, int]:
    """The selected span, or the whole answer when nothing is selected."""
    start, end = _json_span(ctx, data)
    return (0, len(ctx.answer.text or "")) if start is None else (start, end)


def _coding_json(c: Coding, text: str) -> dict:
    span = _span(c, text)
    return {"id": c.id, "code": c.code_id, "valence": c.valence.value,
            "start": span[0] if span else None, "end": span[1] if span else None,
            "start_utf16": offsets.to_browser(text, span[0]) if span else None,
            "end_utf16": offsets.to_browser(text, span[1]) if span else None,
            "excerpt": c.excerpt, "needs_review": span is None and (c.needs_review or c.start is not None),
            "agreed": c.agreed, "coder": c.coder}


@bp.get("/answers/<int:answer_id>/codings")
@requires("can_code")
def list_codings(answer_id: int):
    """The codings this user may see on the answer (blind second coders: only their own)."""
    ctx = _context(answer_id)
    text = ctx.answer.text or ""
    return jsonify(codings=[_coding_json(c, text) for c in services.visible_codings(db.session, ctx, current_user)],
                   blind=ctx.blind is not None)


@bp.post("/answers/<int:answer_id>/codings")
@requires("can_code")
@takes_json
def add_coding(answer_id: int):
    data = json_object(code=str, valence=str)
    ctx = _context(answer_id)
    try:
        start, end = _span_or_whole_answer(ctx, data)
        coding = services.add_coding(db.session, current_user, answer_id, str(data.get("code", "")),
                                     data.get("valence") or None, start, end)
    except services.AlreadyApplied as exc:
        return jsonify(error=str(exc), coding_id=exc.coding_id), 409
    except services.CodingError as exc:
        return jsonify(error=str(exc)), 422
    return jsonify(coding=_coding_json(coding, ctx.answer.text or "")), 201


@bp.post("/codings/<int:coding_id>")
@requires("can_code")
@takes_json
def update_coding(coding_id: int):
    data = json_object(code=str, valence=str)
    coding = db.session.get(Coding, coding_id)
    if coding is None or coding.answer_id is None:
        abort(404)
    ctx = _context(coding.answer_id)
    try:
        start, end = _json_span(ctx, data)
        coding = services.update_coding(db.session, current_user, coding_id,
                                        code_id=data.get("code") or None,
                                        valence=data.get("valence") or None, start=start, end=end)
    except services.AlreadyApplied as exc:
        return jsonify(error=str(exc), coding_id=exc.coding_id), 409
    except services.CodingError as exc:
        return jsonify(error=str(exc)), 422
    except services.NotAllowed as exc:
        return jsonify(error=str(exc)), 403
    return jsonify(coding=_coding_json(coding, ctx.answer.text or ""))


def _delete(remove, item_id: int, done: str):
    """Run a service that removes something; answer in JSON or with a flash message."""
    try:
        remove(db.session, current_user, item_id)
    except LookupError:
        abort(404)
    except services.NotAllowed as exc:
        return _fail(exc, 403)
    except services.CodingError as exc:
        return _fail(exc, 422)
    if _wants_json():
        return jsonify(deleted=item_id)
    flash(done)
    return redirect(request.referrer or url_for("coding.queue"))


@bp.post("/codings/<int:coding_id>/delete")
@requires("can_code")
@takes_json
def delete_coding(coding_id: int):
    try:
        services.delete_coding(db.session, current_user, coding_id)
    except LookupError:
        abort(404)
    except services.NotAllowed as exc:
        return _fail(exc, 403)
    except services.CodingError as exc:
        return _fail(exc, 422)
    undo_url = url_for("coding.restore_coding", coding_id=coding_id)
    if _wants_json():
        return jsonify(deleted=coding_id, undo=undo_url)
    flash("Coding removed.")
    return redirect(request.referrer or url_for("coding.queue"))


@bp.post("/codings/<int:coding_id>/restore")
@requires("can_code")
@takes_json
def restore_coding(coding_id: int):
    """Undo the removal of a coding: the same coding, with its memos, comes back."""
    try:
        coding = services.restore_coding(db.session, current_user, coding_id)
    except LookupError:
        abort(404)
    except services.AlreadyApplied as exc:
        return jsonify(error=str(exc), coding_id=exc.coding_id), 409
    except services.NotAllowed as exc:
        return _fail(exc, 403)
    except services.CodingError as exc:
        return _fail(exc, 422)
    if _wants_json():
        return jsonify(coding=_coding_json(coding, coding.answer.text or "")), 201
    flash("Coding restored.")
    return redirect(url_for("coding.answer", answer_id=coding.answer_id))


@bp.post("/answers/<int:answer_id>/memos")
@requires("can_code")
@takes_json
def add_memo(answer_id: int):
    data = json_object(text=str, coding_id=(int, str)) if request.is_json else request.form
    _context(answer_id)
    coding_id = data.get("coding_id")
    try:
        memo = services.add_memo(db.session, current_user, answer_id, data.get("text", ""),
                                 as_id(coding_id))
    except services.CodingError as exc:
        return _fail(exc, 422)
    if _wants_json():
        return jsonify(memo={"id": memo.id}), 201
    flash("Memo saved.")
    return redirect(url_for("coding.answer", answer_id=answer_id))


@bp.post("/memos/<int:memo_id>/delete")
@requires("can_code")
@takes_json
def delete_memo(memo_id: int):
    return _delete(services.delete_memo, memo_id, "Memo removed.")


@bp.post("/answers/<int:answer_id>/done")
@requires("can_code")
@takes_json
def finish_second(answer_id: int):
    """A blind second coder has finished the answer: on to their next one in the same
    round and filter. With no code applied, ``no_code_applies`` must confirm it."""
    data = json_object(no_code_applies=bool) if request.is_json else request.form
    ctx = _context(answer_id)
    confirmed = data.get("no_code_applies") in (True, "1", "on", "true")
    try:
        services.finish_second_coding(db.session, current_user, answer_id, no_code_applies=confirmed)
    except services.ConfirmNoCode as exc:
        if _wants_json():
            return jsonify(error=str(exc), confirm=True), 409
        flash(f"Not finished: {exc}.", "error")
        return redirect(request.referrer or url_for("coding.answer", answer_id=answer_id, queue="double"))
    except services.CodingError as exc:
        return _fail(exc, 422)
    flt = _blind_filter(ctx.respondent.round_id)
    waiting = queries.blind_queue_ids(db.session, current_user, flt)
    nxt = min((i for i in waiting if i > answer_id), default=None) or min(waiting, default=None)
    nav = {"queue": "double", **flt.args()}
    target = (url_for("coding.answer", answer_id=nxt, **nav) if nxt
              else url_for("coding.double", round=flt.round_id))
    if _wants_json():
        return jsonify(next=target)
    if not nxt:
        flash("That was the last answer drawn for you in this round and filter. Thank you.")
    return redirect(target)


# --- Suggested codes -----------------------------------------------------------------

@bp.get("/answers/<int:answer_id>/suggestions")
@requires("can_code")
def suggestions(answer_id: int):
    """What the round's model suggests for the answer (none in blind second coding)."""
    ctx = _context(answer_id)
    return jsonify(blind=ctx.blind is not None, suggestions=[
        {"code": s.code, "valence": s.valence, "confidence": round(s.confidence, 3), "label": s.label}
        for s in suggest.for_answer(db.session, ctx, current_user)])


@bp.post("/answers/<int:answer_id>/suggestions/accept")
@requires("can_code")
@takes_json
def accept_suggestion(answer_id: int):
    """Apply a suggested code as the coder's own coding (to the selection, else the answer)."""
    data = json_object(code=str, valence=str)
    ctx = _context(answer_id)
    try:
        start, end = _span_or_whole_answer(ctx, data)
        coding = suggest.accept(db.session, current_user, answer_id, data.get("code") or "",
                                data.get("valence") or "", start, end)
    except services.AlreadyApplied as exc:
        return jsonify(error=str(exc), coding_id=exc.coding_id), 409
    except services.CodingError as exc:
        return jsonify(error=str(exc)), 422
    except services.NotAllowed as exc:
        return jsonify(error=str(exc)), 403
    return jsonify(coding=_coding_json(coding, ctx.answer.text or "")), 201


@bp.post("/rounds/<int:round_id>/suggestions/train")
@requires("can_code")
def train_suggestions(round_id: int):
    rnd = db.session.get(Round, round_id) or abort(404)
    try:
        row = suggest.train(db.session, current_user, rnd)
    except suggest.SuggestError as exc:
        flash(f"Nothing was trained: {exc}.", "error")
    else:
        flash(f"Suggested codes trained on {plural(row.n_answers, 'coded answer')} of "
              f"{plural(row.n_respondents, 'respondent')} in {row.training_seconds:.1f} s.")
    return redirect(url_for("coding.reliability_report", round=rnd.id, _anchor="suggestions"))


# --- Codebook ------------------------------------------------------------------------

@bp.get("/codebook")
@requires()
def codebook():
    cb = codebook_mod.load()
    codebook_mod.sync(db.session, cb)
    db.session.commit()
    versions = db.session.scalars(sa.select(CodebookVersion).order_by(CodebookVersion.version.desc())).all()
    current = next((v for v in versions if v.checksum == cb.checksum), None)
    counts = dict(db.session.execute(sa.select(Coding.code_id, sa.func.count()).where(
        Coding.agreed.is_(True)).group_by(Coding.code_id)).all()) if current_user.role.can_code else {}
    query = request.args.get("q", "")[:SEARCH_MAX]
    hits = codesearch.search_codes(cb, query) if query.strip() else None
    return render_template("coding/codebook.html", cb=cb, versions=versions, current=current, counts=counts,
                           form=CodebookImportForm(), query=query, hits=hits)


@bp.get("/codebook/search")
@requires()
def codebook_search():
    """The workbench's code picker: (code, valence) pairs for ``q``, best first."""
    query = request.args.get("q", "")[:SEARCH_MAX]
    return jsonify(query=query, results=[{"code": h.code.id, "valence": h.valence}
                                         for h in codesearch.search(codebook_mod.load(), query)])


@bp.get("/codebook.csv")
@requires()
def codebook_csv():
    return Response(exchange.export_csv(codebook_mod.load()), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="codebook.csv"'})


@bp.get("/codebook.qdc")
@requires()
def codebook_qdc():
    cb = codebook_mod.load()
    version = db.session.scalar(sa.select(CodebookVersion.version).where(CodebookVersion.checksum == cb.checksum))
    return Response(exchange.export_qdc(cb, version), mimetype="application/xml", headers={
        "Content-Disposition": 'attachment; filename="codebook.qdc"'})


@bp.route("/codebook/import", methods=["GET", "POST"])
@requires("can_manage_codebook")
def codebook_import():
    """Upload a codebook (.csv or .qdc) and see what would change; nothing is applied yet."""
    form = CodebookImportForm()
    current = codebook_mod.load()
    preview = reading = None
    problems: list[str] = []
    if form.validate_on_submit():
        raw = form.file.data.read()
        try:
            reading = exchange.read_file(form.file.data.filename, raw, current)
        except exchange.CodebookProblems as exc:
            problems = exc.problems
            form.file.errors = list(form.file.errors) + [
                f"Nothing was changed: this file has {len(problems)} problem(s), listed below."]
        except CodebookError as exc:
            problems = [str(exc)]
            form.file.errors = list(form.file.errors) + [f"Nothing was changed: {exc}"]
        else:
            preview = exchange.diff(db.session, current, reading.codebook)
    status = 422 if (form.errors or problems) and request.method == "POST" else 200
    return render_template("coding/codebook_import.html", form=form, preview=preview, reading=reading,
                           problems=problems, base=current.checksum,
                           payload=exchange.dump_yaml(reading.codebook.definition) if reading else ""), status


@bp.post("/codebook/apply")
@requires("can_manage_codebook")
def codebook_apply():
    try:
        new = codebook_mod.parse(request.form.get("definition", ""))
        version = exchange.apply_import(db.session, current_user, new, request.form.get("base", ""))
    except CodebookError as exc:
        flash(f"Nothing was changed: {exc}", "error")
        return redirect(url_for("coding.codebook_import"))
    flash(f"Codebook version {version} is now in use.")
    return redirect(url_for("coding.codebook"))


# --- Double coding, reliability, reconciliation ----------------------------------------

def _coders() -> list[User]:
    return list(db.session.scalars(sa.select(User).where(
        User.active.is_(True), User.role.in_([Role.ADMIN, Role.RESEARCHER])).order_by(User.name)))


def _round_or_first(round_id: int | None) -> Round | None:
    if round_id:
        return db.session.get(Round, round_id) or abort(404)
    return db.session.scalar(sa.select(Round).order_by(Round.created_at.desc(), Round.id.desc()))


# The answers drawn for a second coder, waiting or coded blind: a page shows this many of each.
DRAWN_PER_PAGE = 50


@bp.get("/double")
@requires("can_code")
def double():
    rnd = _round_or_first(_int("round"))
    form = DrawForm(round_id=rnd.id if rnd else None, share=20, seed=random.randrange(1, 10**6))
    rounds = db.session.scalars(sa.select(Round).order_by(Round.name)).all()
    form.set_choices(rounds, _coders())
    mine = queries.my_double_coding(db.session, current_user, rnd.id if rnd else None, page=_int("page") or 1,
                                    done_page=_int("done_page") or 1, per_page=DRAWN_PER_PAGE)
    progress = queries.double_coding_progress(db.session, rnd.id) if rnd is not None else []
    return render_template("coding/double.html", form=form, rnd=rnd, rounds=rounds, mine=mine,
                           progress=progress, plural=plural)


@bp.post("/double/draw")
@requires("can_code")
def draw():
    form = DrawForm()
    form.set_choices(db.session.scalars(sa.select(Round).order_by(Round.name)).all(), _coders())
    if form.validate_on_submit():
        try:
            rows = services.draw_double_sample(db.session, current_user, form.round_id.data,
                                               form.second_coder_id.data, form.share.data / 100,
                                               form.seed.data)
        except (services.CodingError, services.NotAllowed) as exc:
            flash(f"Nothing was drawn: {exc}.", "error")
        else:
            coder = db.session.get(User, form.second_coder_id.data)
            flash(f"Drew {plural(len(rows), 'answer')} for {coder.name} to code blind (seed {form.seed.data}).")
    else:
        for field_name, errors in form.errors.items():
            for e in errors:
                flash(f"{getattr(form, field_name).label.text}: {e}", "error")
    return redirect(url_for("coding.double", round=form.round_id.data or None))


def _blind_in(rnd: Round) -> int:
    """Answers of the round the viewer still codes blind (done or not, until reconciled)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(DoubleCoding).where(
        DoubleCoding.round_id == rnd.id, DoubleCoding.second_coder_id == current_user.id,
        DoubleCoding.reconciled_at.is_(None))) or 0


@bp.get("/reliability")
@requires("can_export_consortium")
def reliability_report():
    """The round's stored report; when there is none, or the double coding changed since,
    a recomputation is queued and its progress shown."""
    rnd = _round_or_first(_int("round"))
    rounds = db.session.scalars(sa.select(Round).order_by(Round.name)).all()
    found, job, stale, withheld = None, None, False, 0
    if rnd is not None:
        # Per code the report says on how many answers it was applied: on an answer the
        # viewer still codes blind that would give the first coder's codes away.
        withheld = _blind_in(rnd)
        found = stored_reliability.stored(db.session, rnd)
        stale = found is not None and stored_reliability.is_stale(db.session, rnd, found)
        if found is None or stale:
            job = stored_reliability.active_job(db.session, rnd) or \
                stored_reliability.request(db.session, current_user, rnd)[0]
            jobs.dispatch()
            if current_app.config["JOBS_INLINE"]:
                found, stale, job = stored_reliability.stored(db.session, rnd), False, None
    threshold_form = ThresholdForm(threshold=rnd.reliability_threshold if rnd else None)
    return render_template("coding/reliability.html", rnd=rnd, rounds=rounds,
                           report=None if withheld or found is None else found.report,
                           computed_at=found.computed_at if found else None, stale=stale, job=job,
                           withheld=withheld, cb=codebook_mod.load(), plural=plural,
                           threshold_form=threshold_form,
                           below=stored_reliability.below_threshold(db.session, rnd) if rnd else None,
                           suggestions=suggest.stored(db.session, rnd.id) if rnd else None,
                           min_answers=suggest.MIN_ANSWERS)


@bp.get("/reliability/jobs/<int:job_id>.json")
@requires("can_export_consortium")
def reliability_job(job_id: int):
    job = db.session.get(jobs.Job, job_id)
    if job is None or job.kind != stored_reliability.JOB:
        abort(404)
    return jsonify({"id": job.id, "status": job.status, "progress": job.progress, "message": job.message,
                    "done": job.status in ("done", "failed"),
                    "next": url_for("coding.reliability_report", round=job.arguments.get("round_id"))})


@bp.post("/rounds/<int:round_id>/reliability-threshold")
@requires("can_manage_rounds")
def reliability_threshold(round_id: int):
    rnd = db.session.get(Round, round_id) or abort(404)
    form = ThresholdForm()
    if form.validate_on_submit():
        stored_reliability.set_threshold(db.session, current_user, rnd, form.threshold.data)
        flash("Threshold cleared." if form.threshold.data is None else
              f"Scores of {rnd.name} are flagged while pooled multi-valued α is below {form.threshold.data:g}.")
    else:
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
    return redirect(url_for("coding.reliability_report", round=rnd.id))


# Each disagreement is a form with a table of codes: a page shows this many.
DISAGREEMENTS_PER_PAGE = 20


@bp.get("/disagreements")
@requires("can_code")
def disagreements():
    rnd = _round_or_first(_int("round"))
    rounds = db.session.scalars(sa.select(Round).order_by(Round.name)).all()
    items = []
    page = pages = 1
    total = agreed_pending = 0
    show_all = False
    if rnd is not None:
        show_all = request.args.get("show") == "all"
        authority_ids = queries.visible_authority_ids(db.session, current_user)
        found = page_of_disagreements(db.session, current_user, rnd.id, authority_ids, _int("page") or 1,
                                      DISAGREEMENTS_PER_PAGE, show_reconciled=show_all)
        page, pages, total, agreed_pending = found.page, found.pages, found.total, found.agreed_pending
        data = queries.double_coded(db.session, rnd.id, authority_ids=authority_ids, only=found.answer_ids)
        rows = {r.id: r for r in queries.answer_rows(db.session, found.answer_ids)}
        cb = codebook_mod.load()
        for u in found.answer_ids:
            union = sorted(set().union(*(data.pairs[s].get(u, set()) for s in data.slots)))
            items.append({"row": rows[u], "reconciled": u in data.reconciled, "union": union,
                          "columns": [(s, data.coders[s].get(u, ""), data.pairs[s].get(u, set()))
                                      for s in data.slots if u in data.pairs[s]],
                          "labels": {c: (cb.get(c).label if cb.get(c) else c) for c, _v in union},
                          "authority": current_user.authority_display_name(rows[u].authority)})
    return render_template("coding/disagreements.html", rnd=rnd, rounds=rounds, items=items,
                           agreed_pending=agreed_pending, page=page, pages=pages, total=total,
                           show_all=show_all)


@bp.post("/answers/<int:answer_id>/reconcile")
@requires("can_code")
def reconcile(answer_id: int):
    _context(answer_id)
    keep = set()
    for value in request.form.getlist("keep"):
        code, _, valence = value.partition("|")
        keep.add((code, valence))
    try:
        result = services.reconcile(db.session, current_user, answer_id, keep)
    except services.CodingError as exc:
        flash(f"Not reconciled: {exc}.", "error")
    except services.NotAllowed as exc:
        abort(403, str(exc))
    else:
        flash(f"Answer reconciled: {plural(result['kept'], 'code')} kept, {result['dropped']} dropped.")
    return redirect(request.referrer or url_for("coding.disagreements"))


@bp.post("/rounds/<int:round_id>/reconcile-agreed")
@requires("can_code")
def reconcile_agreed(round_id: int):
    """Settle every finished double-coded answer on which the coders agreed exactly."""
    rnd = db.session.get(Round, round_id) or abort(404)
    data = queries.double_coded(db.session, rnd.id,
                                authority_ids=queries.visible_authority_ids(db.session, current_user))
    differing = set(reliability.disagreements(data))
    n = 0
    for u in data.units:
        if u in differing or u in data.reconciled:
            continue
        try:
            services.reconcile(db.session, current_user, u, set(data.pairs["first"][u]))
            n += 1
        except (services.CodingError, services.NotAllowed):
            db.session.rollback()
    flash(f"{plural(n, 'answer')} on which the coders agreed {'was' if n == 1 else 'were'} settled.")
    return redirect(url_for("coding.disagreements", round=rnd.id))


# --- Exports -------------------------------------------------------------------------

@bp.get("/rounds/<int:round_id>/export.qdpx")
@requires("can_code")
def export_qdpx(round_id: int):
    rnd = db.session.get(Round, round_id) or abort(404)
    authority_ids = queries.visible_authority_ids(db.session, current_user)
    return downloads.file_response(
        lambda fh: write_qdpx(db.session, rnd.name, fh, viewer=current_user, authority_ids=authority_ids),
        "application/zip", f"round-{rnd.id}.qdpx")


@bp.route("/rounds/<int:round_id>/import.qdpx", methods=["GET", "POST"])
@requires("can_code")
def import_qdpx(round_id: int):
    """Bring back codings made in another QDA tool on an exported project."""
    rnd = db.session.get(Round, round_id) or abort(404)
    form = QdpxImportForm()
    report, problems = None, []
    if form.validate_on_submit():
        try:
            report = qdpx_import.import_qdpx(
                db.session, current_user, form.file.data.read(), rnd.name,
                (form.coder.data or "").strip() or current_user.email, check=form.check.data,
                leave_out_unplaced=form.leave_out_unplaced.data)
        except qdpx_import.QdpxRejected as exc:
            db.session.rollback()
            report, problems = exc.report, exc.problems
    status = 422 if request.method == "POST" and (form.errors or problems) else 200
    return render_template("coding/qdpx_import.html", round=rnd, form=form, report=report,
                           problems=problems), status
