"""Suggested codes: a model of a round's own agreed coding, measured as a coder would be.

What it learns from: the round's open answers that people have coded, with their
*agreed* codings (those scores use), as (code, valence) labels per answer. Answers
carrying a coding accepted from a suggestion are left out of training and of the
measurement, so the model never learns from, or is scored against, its own output.
Imported codings without an answer, closed answers and blind second codings not yet
agreed are not used.

The model: TF-IDF word (1-2) and character (3-5, within words) n-grams, and one
logistic regression per (code, valence) (one-vs-rest). A (code, valence) applied to
fewer than ``MIN_ANSWERS`` answers gets no classifier and is never suggested. A pair
is suggested when its probability reaches ``THRESHOLD``.

Its quality is measured before it is stored: ``GroupKFold`` over respondents (all of a
person's answers are held out together, so the model is never tested on someone it
learnt from), and for each held-out answer the codes suggested are compared with the
human coding, code by code (presence, valence aside): precision, recall and Cohen's
kappa, beside a baseline that suggests the code most often applied to the same
question in the training answers. The same rule (``_suggested``) decides what is
measured and what the workbench shows.

The fitted model is stored serialised with joblib in the round's ``SuggestionModel``
row, which only this module writes; it is loaded only with the scikit-learn version
that wrote it (otherwise the round needs training again). Nothing here logs or
records answer text.
"""
from __future__ import annotations

import io
import time
from collections import Counter
from dataclasses import dataclass

import joblib
import numpy as np
import sklearn
import sqlalchemy as sa
from scipy.special import expit, logit
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import FeatureUnion
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from impactmodel import codebook as codebook_mod
from impactmodel.audit import record
from impactmodel.auth.models import User
from impactmodel.codebook.models import Coding
from impactmodel.coding import services
from impactmodel.coding.models import SuggestionModel
from impactmodel.coding.queries import INSTRUMENT_CODER
from impactmodel.consortium.models import Respondent, Round
from impactmodel.db import utcnow
from impactmodel.fieldwork.models import Answer, Response, response_counts
from impactmodel.stats import cohen_kappa

MIN_ANSWERS = 10     # a (code, valence) applied to fewer answers is never suggested
THRESHOLD = 0.5      # suggested when the model's probability reaches this
FOLDS = 5            # respondent-grouped folds for the held-out measurement
LIBRARY = f"scikit-learn {sklearn.__version__}"

Label = tuple[str, str]   # (code, valence)


class SuggestError(ValueError):
    """The round has nothing the model could learn from; the message says why."""


@dataclass
class Examples:
    """The round's coded open answers, one entry per answer, in answer id order."""

    answer_ids: list[int]
    respondents: list[int]
    questions: list[str]
    texts: list[str]
    labels: list[set[Label]]
    left_out: int = 0      # answers left out for carrying an accepted suggestion


@dataclass(frozen=True)
class Suggestion:
    code: str
    valence: str
    confidence: float
    label: str


def training_examples(session: Session, round_id: int) -> Examples:
    """The round's open answers coded by people, each with its agreed (code, valence) pairs.

    An answer counts once it carries an agreed coding made by a person; an answer with
    any coding accepted from a suggestion is left out (counted in ``left_out``).
    """
    counted = (sa.select(Answer.id).join(Response, Answer.response_id == Response.id)
               .join(Respondent, Response.respondent_id == Respondent.id)
               .where(Respondent.round_id == round_id, response_counts()))
    codings = session.execute(
        sa.select(Coding.answer_id, Coding.code_id, Coding.valence, Coding.agreed, Coding.suggested)
        .where(Coding.round_id == round_id, Coding.answer_id.in_(counted),
               Coding.coder != INSTRUMENT_CODER))
    labels: dict[int, set[Label]] = {}
    tainted: set[int] = set()
    for answer_id, code_id, valence, agreed, suggested in codings:
        if suggested:
            tainted.add(answer_id)
        if agreed:
            labels.setdefault(answer_id, set()).add((code_id, getattr(valence, "value", valence)))
    ids = sorted(set(labels) - tainted)
    rows = {}
    for chunk in range(0, len(ids), 5000):   # bound the parameters of one statement
        rows.update({a: (r, q, t) for a, r, q, t in session.execute(
            sa.select(Answer.id, Response.respondent_id, Answer.question_key, Answer.text)
            .join(Response, Answer.response_id == Response.id)
            .where(Answer.id.in_(ids[chunk:chunk + 5000])))})
    ex = Examples([], [], [], [], [], left_out=len(tainted & set(labels)))
    for a in ids:
        respondent, question, text = rows[a]
        if not (text or "").strip():
            continue
        ex.answer_ids.append(a)
        ex.respondents.append(respondent)
        ex.questions.append(question)
        ex.texts.append(text)
        ex.labels.append(labels[a])
    return ex


# --- The model ------------------------------------------------------------------------

def _features() -> FeatureUnion:
    return FeatureUnion([
        ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=20000)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True,
                                  max_features=20000)),
    ])


def fit(texts: list[str], y: np.ndarray, labels: list[Label]) -> dict:
    """One logistic regression per label (a column of ``y``) over the n-gram features.

    A label constant in ``texts`` (possible within a fold) gets its observed share,
    smoothed, as a fixed probability. Returns the model as plain parts, which is what
    is stored.
    """
    features = _features()
    x = features.fit_transform(texts)
    # Features x labels, so one sparse product scores every label of an answer at once.
    weights = np.zeros((x.shape[1], len(labels)), dtype=np.float32)
    intercept = np.zeros(len(labels))
    for j in range(len(labels)):
        column = y[:, j]
        if column.all() or not column.any():
            intercept[j] = logit((column.sum() + 0.5) / (len(column) + 1))
            continue
        clf = LogisticRegression(C=4.0, solver="liblinear", class_weight="balanced")
        clf.fit(x, column)
        weights[:, j] = clf.coef_[0]
        intercept[j] = clf.intercept_[0]
    return {"features": features, "labels": list(labels), "weights": np.ascontiguousarray(weights),
            "intercept": intercept}


def probabilities(model: dict, texts: list[str]) -> np.ndarray:
    """Each text's probability of each of the model's labels (texts x labels)."""
    # The model is ours and the texts are strings: skipping scikit-learn's input checks
    # saves most of the time of suggesting for one answer.
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        x = model["features"].transform(texts)
    return expit(np.asarray(x @ model["weights"]) + model["intercept"])


def _suggested(proba: np.ndarray) -> np.ndarray:
    """The decision the workbench shows and the measurement scores: one rule for both."""
    return proba >= THRESHOLD


def _label_matrix(labels_per_answer: list[set[Label]], labels: list[Label]) -> np.ndarray:
    index = {lab: j for j, lab in enumerate(labels)}
    y = np.zeros((len(labels_per_answer), len(labels)), dtype=bool)
    for i, pairs in enumerate(labels_per_answer):
        for pair in pairs:
            if pair in index:
                y[i, index[pair]] = True
    return y


# --- Measurement on held-out answers ---------------------------------------------------

def _none_if_nan(x: float) -> float | None:
    return None if x != x else float(x)


def scores(human: np.ndarray, suggested: np.ndarray) -> dict:
    """Precision, recall and Cohen's kappa of yes/no decisions against the human coding.

    None where undefined (nothing suggested: no precision; never applied: no recall;
    no variation: no kappa).
    """
    human, suggested = np.asarray(human, dtype=bool), np.asarray(suggested, dtype=bool)
    tp = int((human & suggested).sum())
    fp = int((~human & suggested).sum())
    fn = int((human & ~suggested).sum())
    kappa = cohen_kappa(human.astype(int), suggested.astype(int), labels=[0, 1]) if human.size else float("nan")
    return {"precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None,
            "kappa": _none_if_nan(kappa), "tp": tp, "fp": fp, "fn": fn}


def _majority_baseline(questions: list[str], labels: list[set[Label]], train: np.ndarray,
                       test: np.ndarray) -> dict[int, Label]:
    """For each test answer, the (code, valence) most often applied to its question in the
    training answers (the most frequent overall for a question unseen in training)."""
    per_question: dict[str, Counter] = {}
    overall: Counter = Counter()
    for i in train:
        per_question.setdefault(questions[i], Counter()).update(labels[i])
        overall.update(labels[i])

    def top(counter: Counter) -> Label:
        return min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    fallback = top(overall)
    return {int(i): top(per_question[questions[i]]) if questions[i] in per_question else fallback
            for i in test}


def evaluate(ex: Examples, labels: list[Label], folds: int = FOLDS) -> dict:
    """Held-out precision, recall and kappa per code, for the model and the baseline.

    Every answer is predicted by a model fitted without any answer of its respondent
    (``GroupKFold`` over respondents). Per code the decision is presence: the code was
    suggested (at any of its valences) / the coders applied it (at any valence). Codes
    are those with at least one suggested (code, valence).
    """
    groups = np.asarray(ex.respondents)
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        return {"held_out": 0, "reason": "answers of at least two respondents are needed to hold any out"}
    started = time.perf_counter()
    n = len(ex.texts)
    y = _label_matrix(ex.labels, labels)
    proba = np.zeros((n, len(labels)))
    baseline: dict[int, Label] = {}
    k = min(folds, n_groups)
    for train, test in GroupKFold(n_splits=k).split(np.zeros(n), groups=groups):
        model = fit([ex.texts[i] for i in train], y[train], labels)
        proba[test] = probabilities(model, [ex.texts[i] for i in test])
        baseline |= _majority_baseline(ex.questions, ex.labels, train, test)
    suggested = _suggested(proba)
    codes = sorted({c for c, _v in labels})
    per_code = []
    human_all, model_all, base_all = [], [], []
    for code in codes:
        columns = [j for j, (c, _v) in enumerate(labels) if c == code]
        human = np.array([any(c == code for c, _v in pairs) for pairs in ex.labels])
        by_model = suggested[:, columns].any(axis=1)
        by_baseline = np.array([baseline[i][0] == code for i in range(n)])
        both = np.flatnonzero(human & by_model)
        same = sum({labels[j][1] for j in columns if suggested[i, j]}
                   == {v for c, v in ex.labels[i] if c == code} for i in both)
        per_code.append({"code": code, "answers": int(human.sum()),
                         "model": scores(human, by_model), "baseline": scores(human, by_baseline),
                         "valence_agreement": same / len(both) if len(both) else None})
        human_all.append(human)
        model_all.append(by_model)
        base_all.append(by_baseline)
    return {"held_out": n, "respondents": n_groups, "folds": k, "threshold": THRESHOLD,
            "per_code": per_code,
            "overall": {"model": scores(np.concatenate(human_all), np.concatenate(model_all)),
                        "baseline": scores(np.concatenate(human_all), np.concatenate(base_all))},
            "evaluation_seconds": round(time.perf_counter() - started, 3)}


# --- Training and storing -------------------------------------------------------------

def _dump(model: dict) -> bytes:
    buf = io.BytesIO()
    joblib.dump(model, buf, compress=3)
    return buf.getvalue()


def train(session: Session, actor, rnd: Round) -> SuggestionModel:
    """Fit the round's model on its agreed coding, measure it, store it, audit and commit.

    Raises SuggestError when no (code, valence) has been applied to ``MIN_ANSWERS``
    answers of the round yet.
    """
    if isinstance(actor, User) and not actor.role.can_code:
        raise services.NotAllowed("your role may not code")
    ex = training_examples(session, rnd.id)
    counts = Counter(pair for pairs in ex.labels for pair in pairs)
    labels = sorted(pair for pair, n in counts.items() if n >= MIN_ANSWERS)
    if not labels:
        raise SuggestError(f"no code has been applied to {MIN_ANSWERS} or more coded open answers "
                           f"of {rnd.name} yet ({len(ex.texts)} coded answers), so there is "
                           "nothing to learn from")
    too_few: dict[str, dict[str, int]] = {}
    for (code, valence), n in sorted(counts.items()):
        if n < MIN_ANSWERS:
            too_few.setdefault(code, {})[valence] = n
    metrics = evaluate(ex, labels)
    metrics["left_out_suggested"] = ex.left_out
    started = time.perf_counter()
    model = fit(ex.texts, _label_matrix(ex.labels, labels), labels)
    seconds = time.perf_counter() - started
    values = dict(trained_at=utcnow(), trained_by_id=getattr(actor, "id", None),
                  n_answers=len(ex.texts), n_respondents=len(set(ex.respondents)),
                  labels=[list(pair) for pair in labels], too_few=too_few, metrics=metrics,
                  training_seconds=seconds, library=LIBRARY, model=_dump(model))
    row = session.scalar(sa.select(SuggestionModel).where(SuggestionModel.round_id == rnd.id))
    if row is None:
        row = SuggestionModel(round_id=rnd.id)
        session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    try:
        session.flush()
    except IntegrityError:
        # Trained at the same moment elsewhere: replace that row instead.
        session.rollback()
        row = session.scalar(sa.select(SuggestionModel).where(SuggestionModel.round_id == rnd.id))
        for key, value in values.items():
            setattr(row, key, value)
        session.flush()
    record(session, actor, "suggest.train", "round", rnd.id, model=row.id, answers=row.n_answers,
           respondents=row.n_respondents, labels=len(labels), codes_too_few=sorted(too_few),
           seconds=round(seconds, 3))
    session.commit()
    return row


def stored(session: Session, round_id: int) -> SuggestionModel | None:
    """The round's model row, without loading the model itself."""
    return session.scalar(sa.select(SuggestionModel).where(SuggestionModel.round_id == round_id))


_LOADED: dict[int, tuple[tuple, dict]] = {}   # round -> ((row id, trained at), model)


def load(session: Session, round_id: int) -> dict | None:
    """The round's fitted model, or None (never trained, or written by another
    scikit-learn version: train it again). Kept in memory until it is retrained."""
    head = session.execute(sa.select(SuggestionModel.id, SuggestionModel.trained_at, SuggestionModel.library)
                           .where(SuggestionModel.round_id == round_id)).first()
    if head is None or head.library != LIBRARY:
        return None
    key = (head.id, head.trained_at)
    cached = _LOADED.get(round_id)
    if cached is not None and cached[0] == key:
        return cached[1]
    blob = session.scalar(sa.select(SuggestionModel.model).where(SuggestionModel.id == head.id))
    model = joblib.load(io.BytesIO(blob))
    _LOADED[round_id] = (key, model)
    return model


# --- In the workbench -----------------------------------------------------------------

def for_answer(session: Session, ctx: services.AnswerContext, actor: User) -> list[Suggestion]:
    """What the model suggests for the answer, most confident first; never for a blind
    second coder. Pairs the coder already sees applied are not suggested again."""
    if ctx.blind is not None or not (ctx.answer.text or "").strip():
        return []
    model = load(session, ctx.respondent.round_id)
    if model is None:
        return []
    proba = probabilities(model, [ctx.answer.text])[0]
    applied = {(c.code_id, c.valence.value) for c in services.visible_codings(session, ctx, actor)}
    cb = codebook_mod.load()
    out = []
    for (code, valence), p, chosen in zip(model["labels"], proba, _suggested(proba)):
        definition = cb.get(code)
        if not chosen or (code, valence) in applied or definition is None \
                or valence not in definition.valences:
            continue
        out.append(Suggestion(code, valence, float(p), definition.label))
    return sorted(out, key=lambda s: (-s.confidence, s.code, s.valence))


def accept(session: Session, actor: User, answer_id: int, code: str, valence: str,
           start: int | None, end: int | None) -> Coding:
    """Apply a suggested (code, valence) as the coder's own coding, marked as accepted from
    a suggestion with the confidence shown. Only what is suggested now can be accepted."""
    ctx = services.answer_context(session, actor, answer_id)
    if ctx.blind is not None:
        raise services.NotAllowed("suggestions are off in blind second coding")
    offered = {(s.code, s.valence): s for s in for_answer(session, ctx, actor)}
    suggestion = offered.get((code, valence))
    if suggestion is None:
        raise services.CodingError(f"{code} ({valence.replace('_', ' ')}) is not suggested for this answer")
    return services.add_coding(session, actor, answer_id, code, valence, start, end,
                               suggestion_confidence=round(suggestion.confidence, 4))
