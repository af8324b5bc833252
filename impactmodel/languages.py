"""The languages respondents answer in: the interface catalogues and each page's language.

The interface's words are gettext catalogues under ``impactmodel/translations``
(Flask-Babel); an instrument's own words are data beside it
(``fieldwork/instrument_translations.py``). Staff pages are in English. A respondent's
page (the survey pages under ``/s``) speaks, in order of preference: the language
chosen with the switch on the page (kept in the session), the language the response
was begun in (so a link reopened on another device keeps it), the best match for the
browser's Accept-Language, English. Every language is offered to every authority.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, g, has_request_context, redirect, request, session
from flask_babel import Babel, get_locale, get_translations, refresh

from impactmodel.paths import ROOT

# Language code -> its name in that language (how the switch offers it).
LANGUAGES = {"en": "English", "cy": "Cymraeg"}
DEFAULT = "en"
# What <html lang> says: British English, Welsh.
HTML_LANG = {"en": "en-GB", "cy": "cy"}
TRANSLATIONS_DIR = ROOT / "impactmodel" / "translations"
SESSION_KEY = "language"
# The query parameter of the switch's links.
SWITCH_PARAM = "lang"
# Where a request keeps its page's catalogue once found (in ``g``).
CATALOGUE_KEY = "page_catalogue"

babel = Babel()


def respondent_page() -> bool:
    return has_request_context() and request.blueprint == "survey"


def select_language() -> str:
    """The language of this request's page (a code of LANGUAGES)."""
    if not respondent_page():
        return DEFAULT
    chosen = session.get(SESSION_KEY)
    if chosen in LANGUAGES:
        return chosen
    kept = g.get("response_language")
    if kept in LANGUAGES:
        return kept
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT)


def current_language() -> str:
    """The code of the language this request speaks (English outside a request)."""
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else DEFAULT


def keep_response_language(language: str | None) -> None:
    """Let the language a response was begun in decide this page's, unless one was chosen."""
    g.response_language = language
    _decide_afresh()


def _fresh_request() -> None:
    # The chosen language is decided per request, never carried over in ``g``.
    g.pop("response_language", None)
    _decide_afresh()


def _decide_afresh() -> None:
    """Forget this request's language and catalogue: the next word asked for decides them."""
    refresh()
    g.pop(CATALOGUE_KEY, None)


def page_catalogue():
    """This request's catalogue (gettext translations). A respondent's page asks for a few
    dozen words; the catalogue is found once, not once per word."""
    catalogue = g.get(CATALOGUE_KEY)
    if catalogue is None:
        catalogue = get_translations()
        setattr(g, CATALOGUE_KEY, catalogue)
    return catalogue


def _take_switch():
    """A switch link (``?lang=cy``) keeps the choice in the session and shows the same page."""
    if request.method != "GET" or not respondent_page() or SWITCH_PARAM not in request.args:
        return None
    chosen = request.args[SWITCH_PARAM]
    if chosen in LANGUAGES:
        session[SESSION_KEY] = chosen
    rest = [(k, v) for k, v in request.args.items(multi=True) if k != SWITCH_PARAM]
    return redirect(request.path + (f"?{urlencode(rest)}" if rest else ""), code=303)


def _switch_links() -> list[dict]:
    """The other languages of a respondent's page, as links to the same page in each."""
    here = current_language()
    return [{"code": code, "name": name, "href": f"{request.path}?{urlencode({SWITCH_PARAM: code})}",
             "hreflang": HTML_LANG[code]}
            for code, name in LANGUAGES.items() if code != here]


def _html_lang() -> str:
    return HTML_LANG[current_language()]


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_language, default_locale=DEFAULT,
                   default_translation_directories=str(TRANSLATIONS_DIR))
    # Templates' words from the request's catalogue (Flask-Babel's own would look it up anew per word).
    app.jinja_env.install_gettext_callables(
        gettext=lambda text: page_catalogue().ugettext(text),
        ngettext=lambda singular, plural, n: page_catalogue().ungettext(singular, plural, n),
        pgettext=lambda context, text: page_catalogue().upgettext(context, text),
        npgettext=lambda context, singular, plural, n: page_catalogue().unpgettext(context, singular, plural, n),
        newstyle=True)
    app.before_request(_fresh_request)
    app.before_request(_take_switch)
    app.jinja_env.globals["html_lang"] = _html_lang
    app.jinja_env.globals["language_links"] = _switch_links
