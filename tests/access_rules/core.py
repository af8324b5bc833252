from tests.access_rules import ADMIN, EVERYONE, SIGNED_IN, STAFF, Page


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
        Page("interchange.upload", "/import", STAFF),
        Page("interchange.export_coded", f"/rounds/{r.id}/export/coded.csv", STAFF),
    ]
