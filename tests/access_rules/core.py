import io

from impactmodel.consortium import services as consortium
from impactmodel.fieldwork import instruments
from tests.access_rules import ADMIN, EVERYONE, SIGNED_IN, STAFF, Page, Write


def _spare(world):
    """An authority taking part in the round with nothing in it, for pages that merge or remove it."""
    authority = consortium.get_or_create_authority(world.session, f"Spare Borough {_spare.n}")
    _spare.n += 1
    consortium.ensure_participation(world.session, world.round, authority)
    world.session.commit()
    return authority


_spare.n = 0


def pages(world):
    r, a = world.round, world.authority
    return [
        Page("auth.login", "/login", EVERYONE),
        Page("auth.logout", "/logout", SIGNED_IN, "POST"),
        Page("auth.change_password", "/account/password", SIGNED_IN),
        Page("auth.users", "/admin/users", frozenset({ADMIN})),
        Page("auth.new_user", "/admin/users/new", frozenset({ADMIN})),
        Page("auth.edit_user", f"/admin/users/{world.users[ADMIN].id}", frozenset({ADMIN})),
        Page("consortium.home", "/", SIGNED_IN),
        Page("consortium.create_round", "/rounds", frozenset({ADMIN}), "POST", {"name": "R new"}),
        Page("consortium.round_detail", f"/rounds/{r.id}", SIGNED_IN),
        Page("consortium.add_authority", f"/rounds/{r.id}/authorities", frozenset({ADMIN}), "POST",
             {"authority": a.name}),
        Page("consortium.authorities", "/authorities", frozenset({ADMIN})),
        Page("consortium.authority", f"/authorities/{a.public_id}", frozenset({ADMIN})),
        Page("consortium.rename_authority", f"/authorities/{a.public_id}/rename", frozenset({ADMIN}),
             "POST", {"name": a.name.upper()}),
        Page("consortium.merge_authority", lambda w: f"/authorities/{_spare(w).public_id}/merge",
             frozenset({ADMIN}), "POST", {"into": a.public_id, "confirmed": "yes"}),
        Page("consortium.remove_participation",
             lambda w: f"/rounds/{r.id}/authorities/{_spare(w).public_id}/remove", frozenset({ADMIN}), "POST"),
        Page("consortium.context_page", f"/rounds/{r.id}/context", frozenset({ADMIN})),
        Page("consortium.save_context", f"/rounds/{r.id}/context/{a.public_id}", frozenset({ADMIN}), "POST",
             {"authority_type": "county", "children": "120000", "integrated_since": "2006"}),
        Page("interchange.upload", "/import", STAFF),
        Page("interchange.export_coded", f"/rounds/{r.id}/export/coded.csv", STAFF),
        Page("interchange.responses_page", f"/rounds/{r.id}/export/responses", STAFF),
        Page("interchange.export_responses", f"/rounds/{r.id}/export/responses/parent_survey.xlsx", STAFF),
        Page("interchange.export_dictionary", f"/rounds/{r.id}/export/responses/parent_survey/dictionary.csv",
             STAFF),
    ]


def _csv(kind: str, text: str, round_choice: str, new_round: str = ""):
    def form():
        return {"kind": kind, "round_choice": round_choice, "new_round": new_round, "action": "import",
                "file": (io.BytesIO(text.encode()), f"{kind}.csv")}
    return form


def writes(world):
    r, other, f = world.round, world.other, world.foreign
    ref = world.other_respondent.reference
    return [
        Write("auth.login", "/login", {"email": f.coder.email, "password": "not the password"}),
        Write("auth.logout", "/logout"),
        Write("auth.change_password", "/account/password",
              {"current": "not the password", "new": "a long new passphrase here",
               "confirm": "a long new passphrase here"}),
        Write("auth.new_user", "/admin/users/new",
              {"email": "mole@example.org", "name": "Mole", "role": "authority_contact",
               "authority_id": other.id, "assigned": [other.id], "password": "a long enough password"}),
        Write("auth.edit_user", f"/admin/users/{f.coder.id}",
              {"name": "Moved", "role": "researcher", "active": "y", "authority_id": 0,
               "assigned": [world.authority.id]}),
        Write("consortium.create_round", "/rounds", {"name": "Hostile round"}),
        Write("consortium.add_authority", f"/rounds/{r.id}/authorities",
              {"authority": other.name, "locality": "Hostile locality"}),
        Write("consortium.rename_authority", f"/authorities/{other.public_id}/rename", {"name": "Renamed Borough"}),
        Write("consortium.merge_authority", f"/authorities/{other.public_id}/merge",
              {"into": world.authority.public_id, "confirmed": "yes"}),
        Write("consortium.remove_participation", f"/rounds/{r.id}/authorities/{other.public_id}/remove",
              {"confirmed": "yes"}),
        Write("consortium.save_context", f"/rounds/{r.id}/context/{other.public_id}",
              {"authority_type": "county", "children": "120000", "integrated_since": "2006"}),
        Write("interchange.upload", "/import", _csv(
            "levels", f"authority,respondent,role,level\n{other.name},{ref},manager,1\n", r.name)),
        Write("interchange.upload", "/import", _csv(
            "coded", f"authority,respondent,role,code\n{other.name},{ref},manager,L1.tools\n"
                     f"{other.name},hostile-1,dcs,L1.tools\n", r.name)),
        Write("interchange.upload", "/import", _csv(
            "coded", "authority,respondent,role,code\nHostile Borough,x-1,dcs,L1.tools\n", r.name)),
        Write("interchange.upload", "/import", _csv(
            "levels", f"authority,respondent,role,level\n{world.authority.name},m-9,manager,2\n",
            "__new__", "Hostile round")),
        Write("interchange.upload", "/import", _csv("submissions", _submission(other.name, ref), r.name)),
        Write("interchange.upload", "/import", _csv(
            "context", f"authority,authority_type,children,integrated_since\n{other.name},county,120000,2006\n",
            r.name)),
        Write("interchange.upload", "/import", _csv("submissions", _submission("Hostile Borough", "p-1"),
                                                    r.name)),
    ]


def _submission(authority: str, reference: str) -> str:
    """A KoboToolbox export of one parent-survey submission naming ``authority``."""
    inst = instruments.load()["parent_survey"]
    header = ["authority", "respondent", "role", "consent", "instrument", "instrument_checksum",
              "family/family_difference", "meta/instanceID"]
    row = [authority, reference, "parent", "OK", inst.key, inst.checksum, "less_worried",
           f"uuid:hostile-{reference}"]
    return ",".join(header) + "\n" + ",".join(row) + "\n"
