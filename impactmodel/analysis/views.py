"""Cases, memos, the retrieval page and the framework matrix download (thin views)."""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Iterator

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from impactmodel.access import own_authority_or_403, requires
from impactmodel.analysis import cases as case_queries
from impactmodel.analysis import matrix, memos, retrieval
from impactmodel.analysis.forms import MemoForm
from impactmodel.analysis.models import AuthorityMemo
from impactmodel.analysis.scope import authorities_seen
from impactmodel.codebook.models import Code
from impactmodel.consortium.models import Authority, Case, Participation, Round
from impactmodel.consortium.urls import authority_for_url
from impactmodel.db import db
from impactmodel.enums import RespondentRole, Valence
from impactmodel.inputs import as_id

bp = Blueprint("analysis", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _round(round_id: int) -> Round:
    return db.session.get(Round, round_id) or abort(404)


def _case(case_id: int) -> Case:
    case = db.session.get(Case, case_id) or abort(404)
    own_authority_or_403(case.authority_id)
    return case


# --- Cases -----------------------------------------------------------------------------

@bp.get("/rounds/<int:round_id>/cases")
@requires("can_view_cases")
def round_cases(round_id: int):
    """The authorities of the round this user may see, each with its cases."""
    rnd = _round(round_id)
    counts = dict(db.session.execute(sa.select(Case.authority_id, sa.func.count()).where(Case.round_id == rnd.id)
                                     .group_by(Case.authority_id)).all())
    authorities = db.session.scalars(
        sa.select(Authority).join(Participation, Participation.authority_id == Authority.id)
        .where(Participation.round_id == rnd.id, authorities_seen(current_user, Authority.id))).all()
    rows = sorted(((a, counts.get(a.id, 0)) for a in authorities), key=lambda r: r[0].name.casefold())
    return render_template("analysis/round_cases.html", round=rnd, rows=rows)


@bp.get("/rounds/<int:round_id>/authorities/<public_id>/cases")
@requires("can_view_cases")
def authority_cases(round_id: int, public_id: str):
    rnd = _round(round_id)
    authority = authority_for_url(public_id)
    own_authority_or_403(authority.id)
    may_write = current_user.role.can_code
    return render_template(
        "analysis/authority_cases.html", round=rnd, authority=authority,
        rows=case_queries.authority_cases(db.session, rnd.id, authority.id), voices=case_queries.VOICES,
        memos=memos.memos_of(db.session, rnd.id, authority.id) if may_write else [],
        may_write=may_write, form=MemoForm())


@bp.get("/cases/<int:case_id>")
@requires("can_view_cases")
def case(case_id: int):
    """A case's practitioner, parent and child side by side, with the levels they reach."""
    case = _case(case_id)
    rnd = _round(case.round_id)
    may_write = current_user.role.can_code
    return render_template(
        "analysis/case.html", case=case, round=rnd, authority=case.authority,
        voices=case_queries.case_voices(db.session, case, current_user),
        memos=memos.memos_of(db.session, rnd.id, case.authority_id, case.id) if may_write else [],
        may_write=may_write, form=MemoForm())


# --- Memos -----------------------------------------------------------------------------

def _memo_page(memo: AuthorityMemo) -> str:
    """Where a memo is shown: its case, or its authority's case list."""
    if memo.case_id is not None:
        return url_for("analysis.case", case_id=memo.case_id)
    authority = db.session.get(Authority, memo.authority_id)
    return url_for("analysis.authority_cases", round_id=memo.round_id, public_id=authority.public_id)


def _form_errors(form: MemoForm) -> None:
    for errors in form.errors.values():
        for e in errors:
            flash(e, "error")


@bp.post("/rounds/<int:round_id>/authorities/<public_id>/memos")
@requires("can_code")
def add_authority_memo(round_id: int, public_id: str):
    rnd = _round(round_id)
    authority = authority_for_url(public_id)
    own_authority_or_403(authority.id)
    back = url_for("analysis.authority_cases", round_id=rnd.id, public_id=authority.public_id)
    form = MemoForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(back)
    try:
        memos.add_memo(db.session, current_user, rnd, authority, form.text.data)
    except memos.MemoError as exc:
        flash(str(exc), "error")
    else:
        flash("Memo saved.")
    return redirect(back)


@bp.post("/cases/<int:case_id>/memos")
@requires("can_code")
def add_case_memo(case_id: int):
    case = _case(case_id)
    form = MemoForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(url_for("analysis.case", case_id=case.id))
    try:
        memos.add_memo(db.session, current_user, _round(case.round_id), case.authority, form.text.data, case=case)
    except memos.MemoError as exc:
        flash(str(exc), "error")
    else:
        flash("Memo saved.")
    return redirect(url_for("analysis.case", case_id=case.id))


def _memo(memo_id: int) -> AuthorityMemo:
    memo = db.session.get(AuthorityMemo, memo_id) or abort(404)
    own_authority_or_403(memo.authority_id)
    return memo


@bp.post("/memos/<int:memo_id>/edit")
@requires("can_code")
def edit_memo(memo_id: int):
    memo = _memo(memo_id)
    back = _memo_page(memo)
    form = MemoForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(back)
    try:
        memos.edit_memo(db.session, current_user, memo.id, form.text.data)
    except memos.NotAllowed:
        abort(403)
    except memos.MemoError as exc:
        flash(str(exc), "error")
    else:
        flash("Memo changed.")
    return redirect(back)


@bp.post("/memos/<int:memo_id>/delete")
@requires("can_code")
def delete_memo(memo_id: int):
    memo = _memo(memo_id)
    back = _memo_page(memo)
    try:
        memos.delete_memo(db.session, current_user, memo.id)
    except memos.NotAllowed:
        abort(403)
    flash("Memo removed.")
    return redirect(back)


# --- Retrieval and the framework matrix --------------------------------------------------

@bp.get("/retrieval")
@requires("can_code")
def retrieval_page():
    """Every excerpt coded to a chosen code, filtered and paged."""
    rounds = db.session.scalars(sa.select(Round).order_by(Round.created_at.desc(), Round.id.desc())).all()
    round_id = as_id(request.args.get("round", ""))
    rnd = next((r for r in rounds if r.id == round_id), rounds[0] if rounds else None)
    codes = db.session.execute(sa.select(Code.id, Code.label).order_by(Code.id)).all()
    code_id = request.args.get("code", "")
    known_code = any(code_id == c for c, _ in codes)
    authorities = [] if rnd is None else db.session.scalars(
        sa.select(Authority).join(Participation, Participation.authority_id == Authority.id)
        .where(Participation.round_id == rnd.id, authorities_seen(current_user, Authority.id))).all()
    authorities = sorted(authorities, key=lambda a: a.name.casefold())
    authority = next((a for a in authorities if a.public_id == request.args.get("authority")), None)
    role = next((r for r in RespondentRole if r.value == request.args.get("role")), None)
    valence = next((v for v in Valence if v.value == request.args.get("valence")), None)
    key_group = None if rnd is None else next(
        (kg for kg in rnd.key_groups if kg.code == request.args.get("key_group")), None)
    page, next_after, problem = [], None, None
    if rnd is not None and known_code:
        flt = retrieval.ExcerptFilter(round_id=rnd.id, code_id=code_id,
                                      authority_id=authority.id if authority else None, role=role,
                                      key_group_id=key_group.id if key_group else None, valence=valence)
        after = as_id(request.args.get("after", ""))
        page, next_after = retrieval.excerpts(db.session, current_user, flt, after)
    elif code_id:
        problem = f"There is no code {code_id!r}: choose one from the list."
    args = {"round": rnd.id if rnd else None, "code": code_id if known_code else None,
            "authority": authority.public_id if authority else None, "role": role.value if role else None,
            "key_group": key_group.code if key_group else None, "valence": valence.value if valence else None}
    return render_template("analysis/retrieval.html", rounds=rounds, round=rnd, codes=codes, code_id=code_id,
                           authorities=authorities, roles=list(RespondentRole), valences=list(Valence),
                           args={k: v for k, v in args.items() if v is not None}, page=page,
                           next_after=next_after, problem=problem,
                           first=request.args.get("after") is None, rows_choices=matrix.ROWS), \
        (422 if problem else 200)


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _streamed_file(path: str) -> Iterator[bytes]:
    """The file in blocks, removed once sent (or when the download is abandoned: the
    response's close does it then)."""
    try:
        with open(path, "rb") as fh:
            while block := fh.read(64 * 1024):
                yield block
    finally:
        _remove(path)


@bp.get("/rounds/<int:round_id>/matrix-<rows>.xlsx")
@requires("can_code")
def export_matrix(round_id: int, rows: str):
    """The framework matrix of the authorities this user may see, named as they may see them."""
    rnd = _round(round_id)
    if rows not in matrix.ROWS:
        abort(404)
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        matrix.write_matrix(db.session, rnd.name, rows, path, viewer=current_user,
                            name_of=current_user.authority_display_name)
    except BaseException:
        _remove(path)
        raise
    name = f"round-{rnd.id}-matrix-{rows.replace('_', '-')}.xlsx"
    response = Response(_streamed_file(path), mimetype=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Content-Length": str(os.path.getsize(path))})
    response.call_on_close(lambda: _remove(path))
    return response
