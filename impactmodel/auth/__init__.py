"""Accounts, log-in and roles."""
from __future__ import annotations

from flask_login import LoginManager

from impactmodel.auth.models import User
from impactmodel.db import db

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.session_protection = "strong"

@login_manager.user_loader
def load_user(session_id: str):
    """The signed-in user, on every request, if the session is still current.

    The cookie is signed, so it cannot be forged; the session version (User.get_id)
    is what lets the server end a session that was copied before it was ended.
    """
    user_id, _, version = session_id.partition(".")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.active or version != str(user.session_version):
        return None
    return user
