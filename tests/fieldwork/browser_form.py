"""What a browser would post for a page's form: every field as the page shows it."""
from __future__ import annotations

from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict


class _FormFields(HTMLParser):
    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.fields = form_id, False, MultiDict()
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        elif not self.inside or "disabled" in a or not a.get("name"):
            return
        elif tag == "textarea":
            self._textarea, self._text = a["name"], []
        elif tag == "input":
            kind = a.get("type", "text")
            if kind in ("radio", "checkbox"):
                if "checked" in a:
                    self.fields.add(a["name"], a.get("value", "on"))
            elif kind not in ("submit", "button"):
                self.fields.add(a["name"], a.get("value", ""))

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops the one line break that may follow <textarea>.
            self.fields.add(self._textarea, "".join(self._text).removeprefix("\n"))
            self._textarea = None


def form_fields(page: str, form_id: str = "interview-form") -> MultiDict:
    """The fields of form ``form_id`` in ``page`` as a browser would send them untouched."""
    parser = _FormFields(form_id)
    parser.feed(page)
    return parser.fields


def with_answers(fields: MultiDict, **answers) -> MultiDict:
    """``fields`` with some inputs set (a list sets a multi-valued input; [] unticks all)."""
    out = MultiDict(fields)
    for name, value in answers.items():
        name = name.replace("__", "-")
        out.setlist(name, value if isinstance(value, list) else [value])
    return out
