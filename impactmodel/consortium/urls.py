"""Authorities in URLs: by their random public id, never by their sequential id."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, redirect, request, url_for
from flask_login import current_user

from impactmodel.consortium.models import Authority
from impactmodel.db import db


def authority_for_url(public_id: str) -> Authority:
    """The authority a URL names, or 404.

    URLs once carried the sequential id. Such a URL still works, by redirecting to
    the same page under the public id, but only for a user who may see that authority
    by name: to anyone else it answers the same 404 as an unknown id, or trying ids one
    by one would pair creation order with labels. A 302, not a 301, because the answer
    depends on who asks.
    """
    if public_id.isdigit():
        authority = db.session.get(Authority, int(public_id))
        if authority is None or request.method not in ("GET", "HEAD") \
                or not current_user.may_see_authority(authority.id):
            abort(404)
        args = {**request.view_args, "public_id": authority.public_id}
        abort(redirect(url_for(request.endpoint, **args), 302))
    return db.session.scalar(sa.select(Authority).where(Authority.public_id == public_id)) or abort(404)
