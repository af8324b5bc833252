"""Character offsets as the browser counts them, and as Python (and REFI-QDA) count them.

``Coding.start``/``end`` are indexes into ``Answer.text`` as a Python ``str``: one per
code point, which is also what REFI-QDA calls a character position. A browser's
``textarea.selectionStart`` counts UTF-16 code units (an emoji is two) in the
textarea's *value*, where every CR LF and lone CR has become LF. The server
converts, so the stored offsets never depend on the browser.
"""
from __future__ import annotations


def _browser_units(text: str) -> list[int]:
    """For each Python index i (0..len), the browser offset of that position."""
    units = [0] * (len(text) + 1)
    pos = 0
    for i, ch in enumerate(text):
        units[i] = pos
        if ch == "\n" and i > 0 and text[i - 1] == "\r":
            step = 0          # CR LF is one LF in the browser: the CR already counted
        elif ord(ch) > 0xFFFF:
            step = 2          # a surrogate pair
        else:
            step = 1
        pos += step
    units[len(text)] = pos
    return units


def browser_text(text: str) -> str:
    """What a textarea's ``value`` holds for ``text`` (line breaks normalised)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def to_python(text: str, offset: int) -> int:
    """The Python index for a browser (UTF-16, normalised) offset.

    Raises ValueError for an offset outside the text or inside a surrogate pair.
    """
    units = _browser_units(text)
    if offset < 0 or offset > units[-1]:
        raise ValueError(f"offset {offset} is outside the answer (0 to {units[-1]})")
    # Two Python indexes share a browser offset inside CR LF: take the later, so a
    # span never splits the pair.
    found = None
    for i, u in enumerate(units):
        if u == offset:
            found = i
        elif u > offset:
            break
    if found is None:
        raise ValueError(f"offset {offset} falls inside a character")
    return found


def to_browser(text: str, index: int) -> int:
    """The browser (UTF-16, normalised) offset for a Python index."""
    if index < 0 or index > len(text):
        raise ValueError(f"index {index} is outside the answer (0 to {len(text)})")
    return _browser_units(text)[index]


def span_to_python(text: str, start: int, end: int) -> tuple[int, int]:
    """Convert a browser selection; ValueError unless it covers at least one character."""
    s, e = to_python(text, start), to_python(text, end)
    if e <= s:
        raise ValueError("select some text first: the span is empty")
    return s, e


def reanchor(excerpt: str | None, start: int | None, end: int | None, text: str) -> tuple[int, int] | None:
    """Where a coded excerpt sits in an answer's new text, or None if that is unclear.

    The rule: an excerpt still at its place stays; otherwise, found exactly once, the
    span moves there; found nowhere, or more than once, there is no span to give (the
    coding keeps its excerpt and waits for its coder's review).
    """
    if not excerpt:
        return None
    if start is not None and text[start:end] == excerpt:
        return start, end
    first = text.find(excerpt)
    if first < 0 or text.find(excerpt, first + 1) >= 0:
        return None
    return first, first + len(excerpt)
