from impactmodel.analysis.models import AuthorityMemo
from impactmodel.consortium import services as consortium
from tests.access_rules import ADMIN, CONTACT, RESEARCHER, STAFF, Page, Write

SEES_NAMES = frozenset({ADMIN, RESEARCHER, CONTACT})


def _memo(world, authority, case=None, author=None):
    memo = AuthorityMemo(round_id=world.round.id, authority_id=authority.id, case_id=case.id if case else None,
                         author_id=author.id if author else None, text="A memo on the case")
    world.session.add(memo)
    world.session.commit()
    return memo


def pages(world):
    r, a = world.round, world.authority
    case = consortium.get_or_create_case(world.session, r, a, "LAC-01", None)
    world.session.commit()
    researcher = world.users[RESEARCHER]
    # The researcher's own memo: only its author (or an administrator) may change one.
    memo = _memo(world, a, case, researcher)

    def fresh_memo(w):
        return f"/memos/{_memo(w, a, case, researcher).id}/delete"

    return [
        Page("analysis.round_cases", f"/rounds/{r.id}/cases", SEES_NAMES),
        Page("analysis.authority_cases", f"/rounds/{r.id}/authorities/{a.public_id}/cases", SEES_NAMES),
        Page("analysis.case", f"/cases/{case.id}", SEES_NAMES),
        Page("analysis.add_authority_memo", f"/rounds/{r.id}/authorities/{a.public_id}/memos", STAFF, "POST",
             {"text": "Noted"}),
        Page("analysis.add_case_memo", f"/cases/{case.id}/memos", STAFF, "POST", {"text": "Noted"}),
        Page("analysis.edit_memo", f"/memos/{memo.id}/edit", STAFF, "POST", {"text": "Changed"}),
        Page("analysis.delete_memo", fresh_memo, STAFF, "POST"),
        Page("analysis.retrieval_page", f"/retrieval?round={r.id}&code=L1.tools", STAFF),
        Page("analysis.export_matrix", f"/rounds/{r.id}/matrix-authority.xlsx", STAFF),
    ]


def writes(world):
    r, other = world.round, world.other
    case = consortium.get_or_create_case(world.session, r, other, "LAC-09", None)
    world.session.commit()
    memo = _memo(world, other, case, world.foreign.coder)
    own_case = consortium.get_or_create_case(world.session, r, world.authority, "LAC-08", None)
    world.session.commit()
    return [
        Write("analysis.add_authority_memo", f"/rounds/{r.id}/authorities/{other.public_id}/memos",
              {"text": "Hostile memo"}),
        Write("analysis.add_case_memo", f"/cases/{case.id}/memos", {"text": "Hostile memo"}),
        Write("analysis.edit_memo", f"/memos/{memo.id}/edit", {"text": "Hostile change"}),
        Write("analysis.delete_memo", f"/memos/{memo.id}/delete"),
        # The user's own authority in the address, Other's case id in the body: ignored.
        Write("analysis.add_authority_memo", f"/rounds/{r.id}/authorities/{world.authority.public_id}/memos",
              {"text": "Hostile memo", "case_id": case.id}),
        Write("analysis.add_case_memo", f"/cases/{own_case.id}/memos", {"text": "Hostile memo",
                                                                        "authority": other.public_id}),
    ]
