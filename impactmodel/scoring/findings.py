"""The round report's further findings, as tables a viewer may see.

Features still to develop, parents' and carers' suggestions, the rated answers no
code counts, the upper and lower thirds of the continuum, authority context beside
the index, and survey response rates. The first three and the thirds come from the
summary stored with the scores (scoring/report.py); context, rated answers and
response rates are read from the round as it is, so they exist before scoring.

The rules of scoring/present.py hold: authorities are named only to viewers open to
them; counts of people under the threshold are "<5" for everyone in consortium
tables, and for viewers not open to the authority in per-authority ones.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from impactmodel.consortium import context as context_mod
from impactmodel.consortium.models import Authority, Participation, Round
from impactmodel.fieldwork import survey_counts
from impactmodel.scoring import placements
from impactmodel.scoring.core import GROUPS
from impactmodel.scoring.present import ROLE_LABELS, Table, Viewer, WITHHELD, dec, is_hidden, rank_text

THIRD_KIND_LABELS = {"impact": "Impact", "positive": "Feature (positive)", "to_develop": "Feature to develop"}


def key_group_note(labels: dict[str, str], key_group: str | None) -> str:
    return f"Respondents of the key group '{labels.get(key_group, key_group)}' only. " if key_group else ""


def to_develop_table(summary: dict, viewer: Viewer) -> Table:
    labels = summary.get("labels", {})
    t = Table("to_develop", "Features still to develop, by group",
              ["Group", "Rank", "Feature", "Authorities", "Participants"],
              note="Every feature a group named as still to develop, ranked by the authorities where someone "
                   "of the group named it and then by participants; counts of people under the threshold "
                   "are shown as <5.")
    for g in GROUPS:
        for i, r in enumerate(summary.get("to_develop", {}).get("groups", {}).get(g, []), 1):
            t.rows.append([ROLE_LABELS[g], i, labels.get(r["code"], r["code"]), r["authorities"],
                           viewer.count(r["respondents"])])
    return t


def suggestions_table(summary: dict, viewer: Viewer) -> Table:
    labels = summary.get("labels", {})
    s = summary.get("suggestions", {})
    minimum = s.get("minimum", viewer.threshold)
    t = Table("suggestions", "Parents' and carers' suggestions for improvement",
              ["Rank", "Suggestion", "Parents and carers", "Authorities"],
              note=f"Suggestions given by {minimum} or more parents and carers, most often given first.")
    for i, r in enumerate(s.get("rows", []), 1):
        t.rows.append([i, labels.get(r["code"], r["code"]), viewer.count(r["respondents"]), r["authorities"]])
    if s.get("fewer"):
        t.note += f" {s['fewer']} other suggestion{'s were' if s['fewer'] != 1 else ' was'} given by fewer."
    return t


def thirds_table(summary: dict, viewer: Viewer) -> Table:
    labels = summary.get("labels", {})
    th = summary.get("thirds", {})
    up, low = th.get("upper", {}), th.get("lower", {})
    t = Table("thirds", "Impacts and features in the upper and the lower third of the continuum",
              ["Kind", "Code", "Upper third: authorities", "Upper third: staff naming", "Upper third: share of staff",
               "Lower third: authorities", "Lower third: staff naming", "Lower third: share of staff",
               "Difference in share"],
              note=(f"The {up.get('authorities', 0)} most and the {low.get('authorities', 0)} least confident placed "
                    f"authorities ({up.get('staff', 0)} and {low.get('staff', 0)} staff); a third is a whole number of "
                    "authorities, so with fewer than three placed there is no comparison. Shares are of the third's "
                    "staff; a share is hidden with a count under the threshold. Largest differences first."))
    rows = []
    for r in th.get("rows", []):
        shares = []
        for third, info in (("upper", up), ("lower", low)):
            staff = info.get("staff", 0)
            shares.append(r[f"{third}_staff"] / staff if staff else 0.0)
        up_n, low_n = viewer.count(r["upper_staff"]), viewer.count(r["lower_staff"])
        hidden = is_hidden(up_n) or is_hidden(low_n)
        rows.append((shares[0] - shares[1], [
            THIRD_KIND_LABELS.get(r["kind"], r["kind"]), labels.get(r["code"], r["code"]),
            f"{r['upper_authorities']} of {up.get('authorities', 0)}", up_n,
            WITHHELD if is_hidden(up_n) else dec(shares[0]),
            f"{r['lower_authorities']} of {low.get('authorities', 0)}", low_n,
            WITHHELD if is_hidden(low_n) else dec(shares[1]),
            WITHHELD if hidden else dec(shares[0] - shares[1])]))
    rows.sort(key=lambda x: -x[0])
    t.rows = [r for _d, r in rows]
    return t


def context_table(session: Session, rnd: Round, stored, viewer: Viewer) -> Table:
    """Each authority's context and the researchers' placements beside its index."""
    t = Table("context", "Authority context beside the index",
              ["Rank", "Authority", "Confidence", "Type of authority", "Children aged 0-19", "Integrated since",
               "Researchers' placement", "Placements"],
              note="Children aged 0-19 are shown as a band for authorities you see by label, so that a size "
                   "cannot be matched with a named authority. Ranked by the index; authorities without one last.")
    contexts = context_mod.contexts(session, rnd)
    placed = placements.placements_of(session, rnd)
    scores = {s.authority_id: s for s in stored.scores}
    authorities = {a.id: a for a in session.scalars(
        sa.select(Authority).join(Participation, Participation.authority_id == Authority.id)
        .where(Participation.round_id == rnd.id))}
    authorities.update({s.authority_id: s.authority for s in stored.scores})

    def order(aid):
        s = scores.get(aid)
        return (s is None or s.rank is None, s.rank if s is not None and s.rank is not None else 0,
                viewer.name(authorities[aid]))
    for aid in sorted(authorities, key=order):
        a, s = authorities[aid], scores.get(aid)
        ctx = contexts.get(aid) or context_mod.Context(None, None, None)
        open_ = viewer.is_open(a)
        stages = [p.stage for p in placed.get(aid, [])]
        t.rows.append([rank_text(s) if s is not None and s.rank is not None else None, viewer.name(a),
                       dec(s.confidence) if s is not None else None,
                       context_mod.AUTHORITY_TYPES.get(ctx.authority_type, ctx.authority_type),
                       ctx.children if open_ else context_mod.size_band(ctx.children),
                       ctx.integrated_since,
                       ", ".join(placements.STAGE_LABELS[st] for st in placements.STAGES if st in stages),
                       len(stages)])
    return t


def rated_answers_table(session: Session, rnd: Round, viewer: Viewer, key_group: str | None = None) -> Table:
    """The answers on a scale that carry no code (how helpful the help was, how children feel)."""
    t = Table("closed_answers", "Answers on a scale that carry no code",
              ["Asked of", "Question", "Answer", "Respondents", "Share"],
              note=key_group_note({kg.code: kg.label for kg in rnd.key_groups}, key_group)
                   + "Sent surveys only. Counts of people under the threshold are shown as <5, with their share.")
    for q in survey_counts.rated_answers(session, rnd, key_group):
        total = sum(q.counts.values())
        for option, label in q.options:
            n = q.counts.get(option, 0)
            shown = viewer.count(n)
            t.rows.append([ROLE_LABELS.get(q.role, q.role), q.label, label, shown,
                           WITHHELD if is_hidden(shown) else dec(n / total if total else 0.0)])
        t.rows.append([ROLE_LABELS.get(q.role, q.role), q.label, "All answering", viewer.count(total), None])
    return t


def response_rate_authorities(session: Session, rnd: Round, viewer: Viewer,
                              key_group: str | None = None) -> list[tuple[Authority, str, bool]]:
    """The authorities with survey links in the round, in the response rates table's order
    (those open to ``viewer`` first, then by the name they see), each with that name and
    whether its counts are open."""
    return _ranked(session, survey_counts.authorities_with_links(session, rnd, key_group), viewer)


def _ranked(session: Session, ids, viewer: Viewer) -> list[tuple[Authority, str, bool]]:
    found = session.scalars(sa.select(Authority).where(Authority.id.in_(ids))) if ids else []
    # How each authority is named and whether its counts are open: once per authority, not per row.
    seen = [(a, viewer.name(a), viewer.is_open(a)) for a in found]
    return sorted(seen, key=lambda x: (not x[2], x[1], x[0].id))


def response_rates_table(session: Session, rnd: Round, viewer: Viewer, key_group: str | None = None,
                         authorities: list[tuple[Authority, str, bool]] | None = None) -> Table:
    """Survey links sent, begun and sent back, by authority, role and key group: of
    ``authorities`` (as ``response_rate_authorities`` gives them; None: every one)."""
    labels = {kg.code: kg.label for kg in rnd.key_groups}
    t = Table("response_rates", "Survey links sent, begun and sent back",
              ["Authority", "Asked of", "Key group", "Links sent", "Begun", "Sent back", "Share sent back"],
              note=key_group_note(labels, key_group)
                   + f"Counts under {viewer.threshold} are shown as <{viewer.threshold} for authorities you see "
                     "by label, and the share with them. A link counts as sent when it was made.")
    if authorities is None:
        rows = survey_counts.uptake(session, rnd, key_group)
        authorities = _ranked(session, {r.authority_id for r in rows}, viewer)
    else:
        rows = survey_counts.uptake(session, rnd, key_group, [a.id for a, _name, _open in authorities])
    place = {a.id: i for i, (a, _name, _open) in enumerate(authorities)}
    out = []
    for r in rows:
        _a, name, open_ = authorities[place[r.authority_id]]
        sent, begun, returned = (viewer.count(n, open_) for n in (r.sent, r.begun, r.returned))
        share = WITHHELD if any(is_hidden(x) for x in (sent, returned)) else dec(r.returned / r.sent if r.sent else 0.0)
        out.append(([name, ROLE_LABELS.get(r.role, r.role),
                     labels.get(r.key_group, r.key_group) if r.key_group else "None", sent, begun, returned, share],
                    (place[r.authority_id], r.role, r.key_group or "")))
    out.sort(key=lambda x: x[1])
    t.rows = [row for row, _key in out]
    return t
