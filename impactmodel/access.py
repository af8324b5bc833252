"""Who may use which page. Every view declares its rule; a view without one is refused.

    @bp.get("/codes")
    @requires("can_code")          # a Role.can_* permission
    def codes(): ...

    @bp.get("/")
    @requires()                    # any signed-in user
    def home(): ...

    @bp.get("/s/<token>")
    @public                        # no log-in (respondents' links, the log-in page)
    def survey(token): ...
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import Flask, abort, current_app, jsonify, redirect, request, url_for
from flask_login import current_user

from impactmodel.auth.models import Role


@dataclass(frozen=True)
class Rule:
    public: bool = False
    permission: str | None = None   # a Role.can_* name; None with public=False: any signed-in user

    def allows(self, user) -> bool:
        if self.public:
            return True
        if not user.is_authenticated:
            return False
        return self.permission is None or bool(getattr(user.role, self.permission))


def public(view: Callable) -> Callable:
    view.access_rule = Rule(public=True)
    return view


def requires(permission: str | None = None) -> Callable[[Callable], Callable]:
    if permission is not None and not isinstance(getattr(Role, permission, None), property):
        raise ValueError(f"unknown permission {permission!r}: add a can_* property to Role")

    def decorate(view: Callable) -> Callable:
        view.access_rule = Rule(permission=permission)
        return view
    return decorate


def rule_for(endpoint: str) -> Rule | None:
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def _check() -> None:
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static":
        return None
    rule = rule_for(endpoint)
    if rule is None:
        current_app.logger.error("view %s declares no access rule: refused", endpoint)
        abort(403)
    if rule.allows(current_user):
        return None
    if not current_user.is_authenticated:
        if request.is_json or request.accept_mimetypes.best == "application/json":
            # A script (autosave, coding) must hear "signed out", not follow a redirect
            # to the log-in page and take its 200 for success.
            return jsonify(error="You are signed out: sign in again to save."), 401
        if request.method != "GET":  # a form posted after the session ended: start afresh
            return redirect(url_for("auth.login"))
        return redirect(url_for("auth.login", next=request.full_path if request.query_string
                                else request.path))
    abort(403)


def init_app(app: Flask) -> None:
    app.before_request(_check)


def own_authority_or_403(authority_id: int) -> None:
    """Object-level check for pages about one authority's own data."""
    if not current_user.may_see_authority(authority_id):
        abort(403)

