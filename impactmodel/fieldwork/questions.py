"""Question types: a registry keyed by type name.

Each type knows how to check its definition in an instrument file, how to clean an
answer (from JSON or from a posted form), and which codebook codes a closed answer
carries. Adding a type is adding a class here and registering it; instruments name
types by ``type:``.
"""
from __future__ import annotations

from typing import Any, ClassVar

from flask_babel import gettext as _

from impactmodel.enums import EvidenceCategory, Valence

# The self-reported level of impact: 1 to 4 in half steps (the report).
LEVELS = [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]
SHORT_TEXT_MAX = 500
LONG_TEXT_MAX = 20_000
NOTE_MAX = 20_000


class AnswerInvalid(ValueError):
    """An answer that does not fit its question; the message is for the person answering."""


class DefinitionError(ValueError):
    """A question definition that does not fit its type; the message names the problem."""


QUESTION_TYPES: dict[str, type[QuestionType]] = {}


def register(cls: type[QuestionType]) -> type[QuestionType]:
    QUESTION_TYPES[cls.name] = cls
    return cls


def question_type(name: str) -> type[QuestionType]:
    return QUESTION_TYPES[name]


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise AnswerInvalid(_("Please type your answer as words."))
    value = value.replace("\r\n", "\n").strip()
    if len(value) > limit:
        raise AnswerInvalid(_("That answer is too long. Please keep it under %(limit)s characters "
                              "(it has %(length)s).", limit=format(limit, ","), length=format(len(value), ",")))
    return value or None


class QuestionType:
    """Base class. ``q`` is the question's (expanded) definition, a plain dict."""

    name: ClassVar[str]
    # Whether the answer has free text a coder reads (the coding queue takes Answers with text).
    open: ClassVar[bool] = False
    # Extra definition fields this type accepts.
    fields: ClassVar[set[str]] = set()

    @classmethod
    def check_definition(cls, q: dict, codebook) -> None:
        """Raise DefinitionError if ``q`` does not fit this type."""

    @classmethod
    def clean(cls, q: dict, text: Any, value: Any) -> tuple[str | None, Any]:
        """(text, value) to store, or AnswerInvalid in plain words. Every type defines it."""
        raise TypeError(f"question type {cls.name!r} does not define clean()")

    @classmethod
    def from_form(cls, q: dict, form, name: str) -> tuple[Any, Any]:
        """(text, value) as posted by the HTML form for input ``name``."""
        return form.get(name), None

    @classmethod
    def text_input(cls, name: str) -> str:
        """The name of the form's text box for this question (words beside a choice)."""
        return f"{name}-other"

    @classmethod
    def sent_in_form(cls, q: dict, form, name: str) -> dict[str, Any]:
        """The parts of the answer a posted form carries, as ``{"text": ..., "value": ...}``.

        A text box left out of the form is not sent, so the stored words stay; a choice
        is always taken, since a browser sends nothing at all for unticked boxes.
        """
        text, value = cls.from_form(q, form, name)
        parts = {} if cls.open else {"value": value}
        if cls.text_input(name) in form:
            parts["text"] = text
        return parts

    @classmethod
    def codes(cls, q: dict, text: str | None, value: Any) -> list[tuple[str, Valence]]:
        """The codebook codes a closed answer carries, with their valence."""
        return []

    @classmethod
    def is_empty(cls, text: str | None, value: Any) -> bool:
        return not text and value in (None, "", [], {})


@register
class Text(QuestionType):
    name = "text"
    open = True
    limit = SHORT_TEXT_MAX

    @classmethod
    def clean(cls, q, text, value):
        if value not in (None, ""):
            raise AnswerInvalid(_("This question takes words, not a choice."))
        return _text(text, cls.limit), None

    @classmethod
    def text_input(cls, name):
        return name


@register
class LongText(Text):
    name = "long_text"
    limit = LONG_TEXT_MAX


def _check_options(q: dict, codebook, *, allow_codes: bool = True) -> None:
    options = q.get("options")
    if not isinstance(options, list) or not options:
        raise DefinitionError("needs a non-empty 'options' list")
    seen = set()
    for i, opt in enumerate(options):
        if not isinstance(opt, dict) or not opt.get("id") or not opt.get("label"):
            raise DefinitionError(f"options[{i}] needs an id and a label")
        extra = set(opt) - {"id", "label", "code", "valence", "hint", "face", "exclusive"}
        if extra:
            raise DefinitionError(f"option {opt['id']!r} has unknown fields: {', '.join(sorted(extra))}")
        if opt["id"] in seen:
            raise DefinitionError(f"option id {opt['id']!r} appears twice")
        if opt["id"] == "other":
            raise DefinitionError("option id 'other' is reserved: set 'other: true' on the question")
        seen.add(opt["id"])
        if "code" in opt:
            if not allow_codes:
                raise DefinitionError(f"option {opt['id']!r}: this type carries no codes")
            try:
                opt["valence"] = codebook.check_coding(opt["code"], opt.get("valence")).value
            except ValueError as exc:
                raise DefinitionError(f"option {opt['id']!r}: {exc}") from None
        elif "valence" in opt:
            raise DefinitionError(f"option {opt['id']!r} has a valence but no code")


def _option_map(q: dict) -> dict[str, dict]:
    return {o["id"]: o for o in q["options"]}


def _other_label(q: dict) -> str:
    return q.get("other_label") or _("Something else")


@register
class SingleChoice(QuestionType):
    name = "single_choice"
    fields = {"options", "other", "other_label"}

    @classmethod
    def check_definition(cls, q, codebook):
        _check_options(q, codebook)

    @classmethod
    def clean(cls, q, text, value):
        if value in (None, ""):
            value = None
        elif not isinstance(value, str) or value not in _option_map(q) and value != "other":
            raise AnswerInvalid(_("Please choose one of the answers shown."))
        if value == "other" and not q.get("other"):
            raise AnswerInvalid(_("Please choose one of the answers shown."))
        text = _text(text, LONG_TEXT_MAX) if q.get("other") else cls._no_text(text)
        # Words typed in the "something else" box choose it, as if its button were pressed.
        if text and value is None and q.get("other"):
            value = "other"
        if text and value not in ("other", None) and q.get("other"):
            raise AnswerInvalid(_("You chose '%(chosen)s' and also wrote something in '%(other)s'. "
                                  "Please keep one: choose '%(other)s', or clear the words.",
                                  chosen=_option_map(q)[value]["label"], other=_other_label(q)))
        if value == "other" and not text:
            raise AnswerInvalid(_("You chose 'something else': please say what it is, or choose "
                                  "another answer."))
        return text, value

    @staticmethod
    def _no_text(text):
        if text not in (None, ""):
            raise AnswerInvalid(_("This question takes a choice, not words."))
        return None

    @classmethod
    def from_form(cls, q, form, name):
        return form.get(f"{name}-other"), form.get(name)

    @classmethod
    def codes(cls, q, text, value):
        opt = _option_map(q).get(value)
        if opt and opt.get("code"):
            return [(opt["code"], Valence(opt["valence"]))]
        return []


@register
class MultiChoice(SingleChoice):
    name = "multi_choice"
    fields = {"options", "other", "other_label", "max"}

    @classmethod
    def clean(cls, q, text, value):
        if value in (None, ""):
            value = []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise AnswerInvalid(_("Please tick the answers shown."))
        options = _option_map(q)
        allowed = set(options) | ({"other"} if q.get("other") else set())
        if not set(value) <= allowed:
            raise AnswerInvalid(_("Please tick only the answers shown."))
        # Keep the instrument's order, once each, so equal answers compare equal.
        text = _text(text, LONG_TEXT_MAX) if q.get("other") else cls._no_text(text)
        # Words typed in the "something else" box tick it (before the checks below, so
        # that "nothing has changed" plus words for something else is refused too).
        if text and "other" not in value:
            value.append("other")
        order = [o["id"] for o in q["options"]] + ["other"]
        value = [v for v in order if v in value]
        exclusive = [v for v in value if options.get(v, {}).get("exclusive")]
        if exclusive and len(value) > 1:
            label = options[exclusive[0]]["label"]
            if "other" in value and text:
                raise AnswerInvalid(_("You ticked '%(label)s' and other answers too. '%(label)s' goes on "
                                      "its own: untick it, or untick the others and clear the words "
                                      "you wrote.", label=label))
            raise AnswerInvalid(_("You ticked '%(label)s' and other answers too. '%(label)s' goes on its "
                                  "own: untick it, or untick the others.", label=label))
        if q.get("max") and len(value) > q["max"]:
            raise AnswerInvalid(_("Please tick up to %(max)s answers.", max=q["max"]))
        if "other" in value and not text:
            raise AnswerInvalid(_("You ticked 'something else': please say what it is, or untick it."))
        return text, (value or None)

    @classmethod
    def from_form(cls, q, form, name):
        return form.get(f"{name}-other"), form.getlist(name)

    @classmethod
    def codes(cls, q, text, value):
        options = _option_map(q)
        out = []
        for v in value or []:
            opt = options.get(v)
            if opt and opt.get("code"):
                out.append((opt["code"], Valence(opt["valence"])))
        return out


@register
class Scale(SingleChoice):
    """An ordered scale; each point is an option (``faces`` draws them as faces)."""

    name = "scale"
    fields = {"options"}

    @classmethod
    def check_definition(cls, q, codebook):
        _check_options(q, codebook)
        if q.get("other"):
            raise DefinitionError("a scale has no 'something else' answer")


@register
class Faces(Scale):
    name = "faces"
    FACES = ("very_happy", "happy", "ok", "sad", "very_sad", "none")

    @classmethod
    def check_definition(cls, q, codebook):
        super().check_definition(q, codebook)
        for opt in q["options"]:
            if opt.get("face") not in cls.FACES:
                raise DefinitionError(f"option {opt['id']!r} needs a face: one of {', '.join(cls.FACES)}")


@register
class Level(QuestionType):
    """The self-reported level of impact, 1 to 4 in half steps."""

    name = "level"
    fields = {"explain"}

    @classmethod
    def clean(cls, q, text, value):
        if text not in (None, ""):
            raise AnswerInvalid("Choose a level; use the note for comments.")
        if value in (None, ""):
            return None, None
        try:
            level = float(value)
        except (TypeError, ValueError):
            raise AnswerInvalid("Choose a level from 1 to 4.") from None
        if level not in LEVELS:
            raise AnswerInvalid("The level goes from 1 to 4 in half steps (1, 1.5, 2 ... 4).")
        return None, level

    @classmethod
    def from_form(cls, q, form, name):
        return None, form.get(name)


@register
class FeatureRatings(QuestionType):
    """Rate each listed feature; a rating may carry a valence (which codes it)."""

    name = "feature_ratings"
    fields = {"features", "ratings"}

    @classmethod
    def check_definition(cls, q, codebook):
        features = q.get("features")
        if not isinstance(features, list) or not features:
            raise DefinitionError("needs a 'features' list (or 'features_from')")
        for f in features:
            if not isinstance(f, dict) or not f.get("code") or not f.get("label"):
                raise DefinitionError(f"feature {f!r} needs a code and a label")
            code = codebook.get(f["code"])
            if code is None or not code.is_feature:
                raise DefinitionError(f"feature {f['code']!r} is not a contributing feature in the codebook")
        ratings = q.get("ratings")
        if not isinstance(ratings, list) or not ratings:
            raise DefinitionError("needs a 'ratings' list")
        seen = set()
        for r in ratings:
            if not isinstance(r, dict) or not r.get("id") or not r.get("label"):
                raise DefinitionError(f"rating {r!r} needs an id and a label")
            if r["id"] in seen:
                raise DefinitionError(f"rating id {r['id']!r} appears twice")
            seen.add(r["id"])
            if r.get("valence") is not None:
                for f in features:
                    try:
                        codebook.check_coding(f["code"], r["valence"])
                    except ValueError as exc:
                        raise DefinitionError(f"rating {r['id']!r}: {exc}") from None

    @classmethod
    def clean(cls, q, text, value):
        if text not in (None, ""):
            raise AnswerInvalid("Rate each feature; use the note for comments.")
        if value in (None, "", {}):
            return None, None
        if not isinstance(value, dict):
            raise AnswerInvalid("Rate each feature with one of the ratings shown.")
        codes = [f["code"] for f in q["features"]]
        ratings = {r["id"] for r in q["ratings"]}
        out = {}
        for code in codes:  # instrument order; unrated features are left out
            r = value.get(code)
            if r in (None, ""):
                continue
            if r not in ratings:
                raise AnswerInvalid("Rate each feature with one of the ratings shown.")
            out[code] = r
        if set(value) - set(codes):
            raise AnswerInvalid("Rate only the features listed.")
        return None, (out or None)

    @classmethod
    def from_form(cls, q, form, name):
        return None, {f["code"]: form.get(f"{name}-{f['code']}") for f in q["features"]
                      if form.get(f"{name}-{f['code']}")}

    @classmethod
    def codes(cls, q, text, value):
        valence = {r["id"]: r.get("valence") for r in q["ratings"]}
        return [(code, Valence(valence[r])) for code, r in (value or {}).items() if valence.get(r)]


@register
class Evidence(QuestionType):
    """Box 6: how the authority classifies its quantitative evidence; plus what it is."""

    name = "evidence"
    fields = {"options"}

    @classmethod
    def check_definition(cls, q, codebook):
        options = q.get("options")
        if not isinstance(options, list):
            raise DefinitionError("needs an 'options' list with a label for each Box 6 category")
        ids = [o.get("id") for o in options if isinstance(o, dict)]
        expected = [c.value for c in EvidenceCategory]
        if sorted(ids) != sorted(expected) or not all(o.get("label") for o in options):
            raise DefinitionError(f"options must be exactly the Box 6 categories {', '.join(expected)}, "
                                  f"each with a label")

    @classmethod
    def clean(cls, q, text, value):
        if value in (None, ""):
            value = None
        elif value not in {c.value for c in EvidenceCategory}:
            raise AnswerInvalid("Choose one of the categories shown.")
        return _text(text, LONG_TEXT_MAX), value

    @classmethod
    def from_form(cls, q, form, name):
        return form.get(f"{name}-other"), form.get(name)
