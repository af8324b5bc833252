"""A round's answers and codings as a REFI-QDA project (``.qdpx``) for NVivo, ATLAS.ti,
MAXQDA, QualCoder and other tools.

The zip holds ``project.qde`` (valid against Project.xsd) and ``sources/``, one
plain-text UTF-8 file per answer. A source's line breaks are all LF (an answer may
hold CR LF, and tools that count CR LF as one character would otherwise place spans
early), and each coded span is a ``PlainTextSelection`` whose offsets are character
positions (code points) in that LF text, with one ``Coding`` per coder and code;
coders are the project's ``Users``; the codebook is the project's ``CodeBook`` (a
code with valences other than positive has one child code per valence) and the
steering-group features its ``Set``; authorities, and the cases (children) of the
round, are ``Cases``; role, key group and question are ``Variables``; memos are
``Notes``: those on an answer are referred to by its source, those on an authority or
a case are joined to its ``Case`` by a ``Link`` (a case element refers to no note).
"""
from __future__ import annotations

import zipfile
from collections import defaultdict
from datetime import datetime, timezone
from typing import IO
from xml.etree import ElementTree as ET

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel import codebook as codebook_mod
from impactmodel.analysis.models import AuthorityMemo
from impactmodel.auth.models import User
from impactmodel.coding.codebook_io import (STEERING_SET, STEERING_SET_DESCRIPTION, _code_elements,
                                            code_guid, guid, has_valence_children, xml_bytes)
from impactmodel.coding.models import Code, Coding, DoubleCoding, Memo
from impactmodel.coding.queries import INSTRUMENT_CODER, question_text
from impactmodel.consortium.models import Authority, Case, KeyGroup, Respondent, Round
from impactmodel.fieldwork.models import Answer, InstrumentVersion, Response, response_counts

NS = "urn:QDA-XML:project:1.0"
Q = f"{{{NS}}}"
VARIABLES = ("Role", "Key group", "Question")


def _when(value: datetime | None) -> str:
    value = value or datetime.now(timezone.utc)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)   # stored as UTC
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _el(parent, tag, text=None, **attrs):
    el = ET.SubElement(parent, Q + tag, {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def lf_text(text: str) -> tuple[str, list[int], list[int]]:
    """``text`` with every CR LF and lone CR as LF, and the index maps both ways.

    Returns ``(lf, to_lf, to_text)``: ``to_lf[i]`` is the index in ``lf`` of
    ``text[i]`` (0..len(text)); ``to_text[k]`` is where ``lf[k]`` begins in ``text``
    (for an LF made from CR LF, the CR), so ``text[to_text[a]:to_text[b]]`` is the
    original of ``lf[a:b]``.
    """
    out: list[str] = []
    to_lf = [0] * (len(text) + 1)
    to_text: list[int] = []
    i = 0
    while i < len(text):
        ch = text[i]
        to_lf[i] = len(out)
        to_text.append(i)
        if ch == "\r":
            out.append("\n")
            if i + 1 < len(text) and text[i + 1] == "\n":
                to_lf[i + 1] = len(out) - 1       # inside the pair: the LF it became
                i += 1
        else:
            out.append(ch)
        i += 1
    to_lf[len(text)] = len(out)
    to_text.append(len(text))
    return "".join(out), to_lf, to_text


def export_qdpx(session: Session, round_name: str, out: IO[bytes] | str, *, viewer: User | None = None,
                authority_ids: list[int] | None = None) -> dict:
    """Write the round as a ``.qdpx`` to ``out`` (a path or a binary file).

    Parameters
    ----------
    viewer
        The exporting user: authorities are named if they may see names, otherwise
        (and on the command line, ``viewer=None``) shown by anonymised label.
    authority_ids
        Only these authorities (a researcher's assigned ones); None for all.

    Returns
    -------
    dict
        Counts: ``sources``, ``selections``, ``codings``, ``cases``, ``users``.
    """
    rnd = session.scalar(sa.select(Round).where(Round.name == round_name))
    if rnd is None:
        raise LookupError(f"no round called {round_name!r}")
    cb = codebook_mod.load()
    ET.register_namespace("", NS)

    rq = (sa.select(Answer, Respondent, InstrumentVersion.definition, KeyGroup.code)
          .join(Response, Answer.response_id == Response.id)
          .join(Respondent, Response.respondent_id == Respondent.id)
          .join(InstrumentVersion, Response.instrument_version_id == InstrumentVersion.id)
          .outerjoin(KeyGroup, Respondent.key_group_id == KeyGroup.id)
          .where(Respondent.round_id == rnd.id, Answer.text.is_not(None), response_counts())
          .order_by(Respondent.authority_id, Answer.id))
    if authority_ids is not None:
        rq = rq.where(Respondent.authority_id.in_(authority_ids))
    answers = [row for row in session.execute(rq).all() if (row[0].text or "").strip()]
    answer_ids = [a.id for a, *_ in answers]

    cq = sa.select(Coding).where(Coding.round_id == rnd.id, Coding.coder != INSTRUMENT_CODER)
    codings = list(session.scalars(cq.order_by(Coding.id)))
    by_answer: dict[int, list[Coding]] = defaultdict(list)
    loose: dict[int, list[Coding]] = defaultdict(list)   # imported: an excerpt, no answer
    kept_answers = set(answer_ids)
    respondents = {r.id: r for r in session.scalars(
        sa.select(Respondent).where(Respondent.round_id == rnd.id))}
    # Blindness lasts until reconciliation, as on the pages (``services.answer_context``):
    # a blind second coder's download shows none of the others' codings or memos on the
    # answers drawn for them, and no one else sees that coder's blind codings meanwhile.
    pending: set[int] = set()
    blind_work: set[tuple[int, int]] = set()       # (answer, second coder) not yet reconciled
    if viewer is not None:
        for answer_id, second in session.execute(sa.select(
                DoubleCoding.answer_id, DoubleCoding.second_coder_id).where(
                DoubleCoding.round_id == rnd.id, DoubleCoding.reconciled_at.is_(None))):
            if second == viewer.id:
                pending.add(answer_id)
            else:
                blind_work.add((answer_id, second))
    for c in codings:
        if c.answer_id in pending and c.coder_id != viewer.id:
            continue
        if not c.agreed and (c.answer_id, c.coder_id) in blind_work:
            continue
        if c.answer_id in kept_answers:
            by_answer[c.answer_id].append(c)
        elif c.answer_id is None and c.excerpt and (
                authority_ids is None or respondents[c.respondent_id].authority_id in authority_ids):
            loose[c.respondent_id].append(c)
    memos = defaultdict(list)
    for m in session.scalars(sa.select(Memo).where(Memo.answer_id.in_(answer_ids)).order_by(Memo.id)):
        if m.answer_id in pending and m.author_id != viewer.id:
            continue
        if (m.answer_id, m.author_id) in blind_work:
            continue
        memos[m.answer_id].append(m)

    # Users: every coder and memo author.
    users_by_id = {u.id: u for u in session.scalars(sa.select(User))}
    user_guids: dict[str, tuple[str, str]] = {}

    def user_guid(coder_id: int | None, coder: str) -> str:
        key = f"id:{coder_id}" if coder_id else f"name:{coder or 'unknown'}"
        if key not in user_guids:
            u = users_by_id.get(coder_id) if coder_id else None
            user_guids[key] = (guid("user", key), u.name if u else (coder or "unknown coder"))
        return user_guids[key][0]

    included = [c for cs in by_answer.values() for c in cs] + [c for cs in loose.values() for c in cs]
    for c in included:   # only coders whose work is in the file: a name alone can tell too much
        user_guid(c.coder_id, c.coder)
    for ms in memos.values():
        for m in ms:
            user_guid(m.author_id, "")
    # Memos on authorities and cases (their Case is written even when it has no source).
    mq = sa.select(AuthorityMemo).where(AuthorityMemo.round_id == rnd.id)
    if authority_ids is not None:
        mq = mq.where(AuthorityMemo.authority_id.in_(authority_ids))
    case_memos = list(session.scalars(mq.order_by(AuthorityMemo.created_at, AuthorityMemo.id)))
    for m in case_memos:
        user_guid(m.author_id, "")

    root = ET.Element(Q + "Project", {"name": f"impactmodel: {rnd.name}", "origin": "impactmodel",
                                      "creationDateTime": _when(None)})
    if user_guids:
        users_el = _el(root, "Users")
        for g, name in sorted(user_guids.values(), key=lambda x: x[1]):
            _el(users_el, "User", guid=g, name=name)

    # CodeBook, plus any retired code that codings still use.
    codebook_el = _el(root, "CodeBook")
    codes_el = _el(codebook_el, "Codes")
    _code_elements(codes_el, cb, NS)
    used = {c.code_id for c in included}
    retired = sorted(used - set(cb.codes))
    if retired:
        grp = _el(codes_el, "Code", guid=guid("group", "retired"), name="Retired codes", isCodable="false")
        labels = dict(session.execute(sa.select(Code.id, Code.label).where(Code.id.in_(retired))).all())
        for cid in retired:
            _el(grp, "Code", guid=code_guid(cid), name=f"{cid}: {labels.get(cid, cid)}", isCodable="true")

    def code_ref(c: Coding) -> str:
        d = cb.codes.get(c.code_id)
        if d is not None and has_valence_children(d.valences) and c.valence.value in d.valences:
            return code_guid(c.code_id, c.valence.value)
        return code_guid(c.code_id)

    variables_el = _el(root, "Variables")
    var_guid = {name: guid("variable", name) for name in VARIABLES}
    for name in VARIABLES:
        _el(variables_el, "Variable", guid=var_guid[name], name=name, typeOfVariable="Text")

    authorities = {a.id: a for a in session.scalars(sa.select(Authority))}

    def authority_name(aid: int) -> str:
        a = authorities[aid]
        return viewer.authority_display_name(a) if viewer is not None else a.label

    # Sources: (guid, name, text, respondent, key group, question, codings, memos)
    sources = []
    for answer, resp, definition, kg in answers:
        sources.append((guid("answer", str(answer.id)),
                        f"{authority_name(resp.authority_id)} · {resp.role.label} · "
                        f"{answer.question_key} · answer {answer.id}",
                        answer.text, resp, kg, question_text(definition, answer.question_key),
                        by_answer.get(answer.id, []), memos.get(answer.id, [])))
    kg_codes = {kg.id: kg.code for kg in rnd.key_groups}
    for rid, cs in sorted(loose.items()):
        resp = respondents[rid]
        parts, placed, pos = [], [], 0
        for c in cs:
            excerpt = lf_text(c.excerpt)[0]
            if parts:
                pos += 2
            placed.append((c, pos, pos + len(excerpt)))
            parts.append(excerpt)
            pos += len(excerpt)
        sources.append((guid("respondent-excerpts", str(rid)),
                        f"{authority_name(resp.authority_id)} · {resp.role.label} · imported excerpts "
                        f"· respondent {rid}", "\n\n".join(parts), resp, kg_codes.get(resp.key_group_id),
                        "imported excerpts", placed, []))

    cases: dict[int, list[str]] = defaultdict(list)
    child_cases: dict[int, list[str]] = defaultdict(list)
    for s in sources:
        cases[s[3].authority_id].append(s[0])
        if s[3].case_id is not None:
            child_cases[s[3].case_id].append(s[0])
    for m in case_memos:
        cases.setdefault(m.authority_id, [])
        if m.case_id is not None:
            child_cases.setdefault(m.case_id, [])
    case_rows = {c.id: c for c in session.scalars(sa.select(Case).where(Case.round_id == rnd.id))}
    if cases:
        cases_el = _el(root, "Cases")
        for aid in sorted(cases, key=authority_name):
            case = _el(cases_el, "Case", guid=guid("authority", str(aid)), name=authority_name(aid))
            for sg in cases[aid]:
                _el(case, "SourceRef", targetGUID=sg)
        for cid in sorted(child_cases, key=lambda c: (authority_name(case_rows[c].authority_id),
                                                      case_rows[c].reference)):
            case = _el(cases_el, "Case", guid=guid("case", str(cid)),
                       name=f"{authority_name(case_rows[cid].authority_id)} · case {case_rows[cid].reference}")
            for sg in child_cases[cid]:
                _el(case, "SourceRef", targetGUID=sg)

    files: dict[str, str] = {}
    n_sel = n_cod = 0
    notes = []
    if sources:
        sources_el = _el(root, "Sources")
        for sg, name, text, resp, kg, question, cs, ms in sources:
            src = _el(sources_el, "TextSource", guid=sg, name=name, plainTextPath=f"internal://{sg}.txt")
            lf, to_lf, _ = lf_text(text)
            files[f"sources/{sg}.txt"] = lf
            spans: dict[tuple[int, int], list[Coding]] = defaultdict(list)
            for item in cs:
                if isinstance(item, tuple):     # a placed excerpt
                    c, s0, e0 = item
                else:
                    c = item
                    if c.start is not None:
                        s0, e0 = to_lf[c.start], to_lf[c.end]
                    elif c.excerpt and lf_text(c.excerpt)[0] in lf:
                        s0 = lf.index(lf_text(c.excerpt)[0])
                        e0 = s0 + len(lf_text(c.excerpt)[0])
                    else:
                        s0, e0 = 0, len(lf)
                spans[(s0, e0)].append(c)
            for (s0, e0), group in sorted(spans.items()):
                sel = _el(src, "PlainTextSelection", guid=guid("selection", f"{sg}:{s0}:{e0}"),
                          name=lf[s0:e0][:60], startPosition=s0, endPosition=e0,
                          creatingUser=user_guid(group[0].coder_id, group[0].coder),
                          creationDateTime=_when(min(c.created_at for c in group if c.created_at)
                                                 if any(c.created_at for c in group) else None))
                n_sel += 1
                for c in group:
                    cod = _el(sel, "Coding", guid=guid("coding", str(c.id)),
                              creatingUser=user_guid(c.coder_id, c.coder), creationDateTime=_when(c.created_at))
                    _el(cod, "CodeRef", targetGUID=code_ref(c))
                    n_cod += 1
            for m in ms:
                ng = guid("memo", str(m.id))
                _el(src, "NoteRef", targetGUID=ng)
                notes.append((ng, m))
            for var, value in (("Role", resp.role.label), ("Key group", kg or ""), ("Question", question)):
                vv = _el(src, "VariableValue")
                _el(vv, "VariableRef", targetGUID=var_guid[var])
                _el(vv, "TextValue", value)
    if notes or case_memos:
        notes_el = _el(root, "Notes")
        for ng, m in notes:
            note = _el(notes_el, "Note", guid=ng, name=f"Memo {m.id}",
                       creatingUser=user_guid(m.author_id, ""), creationDateTime=_when(m.created_at))
            _el(note, "PlainTextContent", m.text)
        for m in case_memos:
            on = (f"case {case_rows[m.case_id].reference}" if m.case_id is not None
                  else authority_name(m.authority_id))
            note = _el(notes_el, "Note", guid=guid("authority-memo", str(m.id)), name=f"Memo on {on}",
                       creatingUser=user_guid(m.author_id, ""), creationDateTime=_when(m.created_at))
            _el(note, "PlainTextContent", m.text)
    if case_memos:
        links_el = _el(root, "Links")
        for m in case_memos:
            target = guid("case", str(m.case_id)) if m.case_id is not None else guid("authority", str(m.authority_id))
            _el(links_el, "Link", guid=guid("memo-link", str(m.id)), name="memo", direction="OneWay",
                originGUID=guid("authority-memo", str(m.id)), targetGUID=target)
    steering = [c for c in cb.codes.values() if c.steering_group]
    if steering:
        sets_el = _el(root, "Sets")
        steering_set = _el(sets_el, "Set", guid=guid("set", "steering_group"), name=STEERING_SET)
        _el(steering_set, "Description", STEERING_SET_DESCRIPTION)
        for c in steering:
            _el(steering_set, "MemberCode", targetGUID=code_guid(c.id))
    _el(root, "Description", f"Open answers of {rnd.name} and their codings, exported by impactmodel.")

    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", xml_bytes(root))
        for path, text in files.items():
            zf.writestr(path, text.encode("utf-8"))
    return {"sources": len(sources), "selections": n_sel, "codings": n_cod, "cases": len(cases),
            "users": len(user_guids)}
