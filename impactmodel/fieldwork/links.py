"""Survey links out of the app: a print batch as a CSV or XLSX file for a mail merge, and
the way an address is printed on a card.

The file holds credentials (anyone with a link or a code can answer that survey), so
every export is recorded in the audit log with who made it and how many links it held.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.orm import Session

from impactmodel import sheets
from impactmodel.audit import record
from impactmodel.fieldwork import invitations as survey_links
from impactmodel.fieldwork.models import Invitation

# One row per link, in the order the cards are printed (``card`` is the number on the card).
COLUMNS = ["card", "reference", "role", "key_group", "case", "short_code", "link", "expires", "status"]
FORMATS = ("csv", "xlsx")


@dataclass
class LinksFile:
    body: bytes
    filename: str
    count: int


def batch_invitations(session: Session, batch: str) -> list[Invitation]:
    """The links of one print batch, in card order (empty when there is no such batch)."""
    return list(session.scalars(sa.select(Invitation).where(Invitation.batch == batch)
                                .order_by(Invitation.id)))


def rows(invitations: list[Invitation], base_url: str) -> list[list]:
    """The file's rows (without the header). ``reference`` is the respondent's pseudonymous
    reference once the link has been opened; ``expires`` is in UTC; ``status`` is
    ``not_opened``, ``started``, ``expired`` or ``submitted``."""
    out = []
    for card, inv in enumerate(invitations, start=1):
        out.append([card, inv.respondent.reference if inv.respondent is not None else "",
                    inv.role.value, inv.key_group.code if inv.key_group is not None else "",
                    inv.case.reference if inv.case is not None else "",
                    survey_links.format_code(inv.code), survey_links.invitation_url(inv.token, base_url),
                    _utc(inv.expires_at), survey_links.invitation_status(inv)])
    return out


def _utc(moment: datetime | None) -> datetime | None:
    # Stored in UTC; SQLite hands it back without a time zone, PostgreSQL with one.
    return moment.replace(tzinfo=None) if moment is not None else None


def _csv(table: list[list]) -> bytes:
    out = io.StringIO()
    writer = sheets.csv_writer(out)
    writer.writerow(COLUMNS)
    writer.writerows([[v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else v for v in row]
                      for row in table])
    return out.getvalue().encode("utf-8")


def _xlsx(table: list[list], title: str) -> bytes:
    wb = Workbook()
    wb.properties.title = title
    ws = wb.active
    ws.title = "Links"
    sheets.append_row(ws, COLUMNS)
    for row in table:
        sheets.append_row(ws, row)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export_batch(session: Session, actor, invitations: list[Invitation], fmt: str,
                 base_url: str) -> LinksFile:
    """A print batch's links as ``fmt`` (``csv`` or ``xlsx``); records the export and commits.
    PermissionError when ``actor`` (a user; or ``"cli"``) may not see the batch's authority."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use csv or xlsx")
    first = invitations[0]
    may_see = getattr(actor, "may_see_authority", None)
    if may_see is not None and not may_see(first.authority_id):
        raise PermissionError("you are not assigned to this authority")
    table = rows(invitations, base_url)
    title = f"Survey links: {first.role.value}, {first.round.name}"
    body = _csv(table) if fmt == "csv" else _xlsx(table, title)
    record(session, actor, "invitation.export", "invitation_batch", first.batch, format=fmt,
           count=len(invitations), authority_id=first.authority_id, round_id=first.round_id)
    session.commit()
    return LinksFile(body, f"survey-links-{first.batch}.{fmt}", len(invitations))


def printed_address(url: str) -> tuple[str, list[str]]:
    """An address as printed on a card, without its scheme: the host (never broken across
    lines) and the path's parts, before each of which a line may break."""
    rest = url.split("://", 1)[-1]
    host, _, path = rest.partition("/")
    return host, path.split("/") if path else []
