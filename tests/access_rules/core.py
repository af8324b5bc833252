from impactmodel.consortium import services as consortium
from tests.access_rules import ADMIN, EVERYONE, SIGNED_IN, STAFF, Page


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
        Page("interchange.upload", "/import", STAFF),
        Page("interchange.export_coded", f"/rounds/{r.id}/export/coded.csv", STAFF),
    ]
