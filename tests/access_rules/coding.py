import io
import itertools
import zipfile

from impactmodel import codebook
from impactmodel.codebook.exchange import code_guid, guid
from impactmodel.codebook.models import Coding
from impactmodel.coding import stored_reliability, undo
from impactmodel.coding.models import Memo
from impactmodel.enums import RespondentRole
from impactmodel.fieldwork.instruments import checksum
from impactmodel.fieldwork.models import (Answer, Instrument, InstrumentVersion, Response,
                                          ResponseMode)
from tests.access_rules import ADMIN, ANALYST, RESEARCHER, SIGNED_IN, STAFF, Page, Write


def _answer(world):
    """An open answer of the researcher's assigned authority, with two codings and a memo."""
    s = world.session
    codebook.sync(s, codebook.load())
    inst = Instrument(key="matrix_interview", title="Interview", role=RespondentRole.PRACTITIONER)
    definition = {"sections": [{"questions": [{"key": "impact", "label": "What changed?"}]}]}
    version = InstrumentVersion(instrument=inst, version=1, checksum=checksum(definition), definition=definition)
    response = Response(respondent_id=world.respondent.id, instrument_version=version,
                        mode=ResponseMode.INTERVIEW)
    answer = Answer(question_key="impact", text="Teams now share one plan.")
    response.answers.append(answer)
    s.add_all([inst, version, response])
    s.flush()
    coding = _coding(world, answer.id)
    s.commit()
    return answer, coding


_made = itertools.count(1)


def _coding(world, answer_id):
    # A coder of its own each time: the same coding cannot be stored twice.
    coding = Coding(round_id=world.round.id, respondent_id=world.respondent.id, answer_id=answer_id,
                    code_id="L1.tools", start=0, end=5, coder=f"matrix {next(_made)}")
    world.session.add(coding)
    world.session.commit()
    return coding


def _removed(world, coding, by):
    """``coding`` removed by ``by`` as the workbench removes one (kept for undo): its id."""
    undo.keep_removed(world.session, by, coding)
    world.session.delete(coding)
    world.session.commit()
    return coding.id


def _reliability_job(world):
    job, _ = stored_reliability.request(world.session, "matrix", world.round)
    return job.id


def pages(world):
    answer, keep = _answer(world)
    a, r = answer.id, world.round.id

    def fresh_coding(w):
        return f"/coding/codings/{_coding(w, a).id}/delete"

    def fresh_memo(w):
        # The researcher's own memo: only its author (or an administrator) may remove one.
        author = w.users[RESEARCHER]
        memo = Memo(answer_id=a, text="A memo", author_id=author.id)
        w.session.add(memo)
        w.session.commit()
        return f"/coding/memos/{memo.id}/delete"

    def removed_by_researcher(w):
        # Allowed: the researcher undoes their own removal; an administrator is told that
        # only who removed it may (422); the others are refused.
        return f"/coding/codings/{_removed(w, _coding(w, a), w.users[RESEARCHER])}/restore"

    return [
        Page("coding.queue", "/coding/", STAFF),
        Page("coding.answer", f"/coding/answers/{a}", STAFF),
        Page("coding.panel", f"/coding/answers/{a}/panel", STAFF),
        Page("coding.list_codings", f"/coding/answers/{a}/codings", STAFF),
        Page("coding.add_coding", f"/coding/answers/{a}/codings", STAFF, "POST"),
        Page("coding.update_coding", f"/coding/codings/{keep.id}", STAFF, "POST"),
        Page("coding.delete_coding", fresh_coding, STAFF, "POST"),
        Page("coding.restore_coding", removed_by_researcher, STAFF, "POST"),
        Page("coding.add_memo", f"/coding/answers/{a}/memos", STAFF, "POST", {"text": "Noted"}),
        Page("coding.delete_memo", fresh_memo, STAFF, "POST"),
        Page("coding.finish_second", f"/coding/answers/{a}/done", STAFF, "POST"),
        Page("coding.reconcile", f"/coding/answers/{a}/reconcile", STAFF, "POST"),
        Page("coding.codebook", "/coding/codebook", SIGNED_IN),
        Page("coding.codebook_search", "/coding/codebook/search?q=co-location", SIGNED_IN),
        Page("coding.codebook_csv", "/coding/codebook.csv", SIGNED_IN),
        Page("coding.codebook_qdc", "/coding/codebook.qdc", SIGNED_IN),
        Page("coding.codebook_import", "/coding/codebook/import", frozenset({ADMIN})),
        Page("coding.codebook_apply", "/coding/codebook/apply", frozenset({ADMIN}), "POST"),
        Page("coding.double", "/coding/double", STAFF),
        Page("coding.draw", "/coding/double/draw", STAFF, "POST"),
        Page("coding.reliability_report", f"/coding/reliability?round={r}",
             frozenset({ADMIN, RESEARCHER, ANALYST})),
        Page("coding.reliability_job", lambda w: f"/coding/reliability/jobs/{_reliability_job(w)}.json",
             frozenset({ADMIN, RESEARCHER, ANALYST})),
        Page("coding.reliability_threshold", f"/coding/rounds/{r}/reliability-threshold", frozenset({ADMIN}),
             "POST", {"threshold": "0.667"}),
        Page("coding.disagreements", f"/coding/disagreements?round={r}", STAFF),
        Page("coding.reconcile_agreed", f"/coding/rounds/{r}/reconcile-agreed", STAFF, "POST"),
        Page("coding.export_qdpx", f"/coding/rounds/{r}/export.qdpx", STAFF),
        Page("coding.import_qdpx", f"/coding/rounds/{r}/import.qdpx", STAFF),
        Page("coding.suggestions", f"/coding/answers/{a}/suggestions", STAFF),
        Page("coding.accept_suggestion", f"/coding/answers/{a}/suggestions/accept", STAFF, "POST"),
        Page("coding.train_suggestions", f"/coding/rounds/{r}/suggestions/train", STAFF, "POST"),
    ]


def _qdpx(answer):
    """A project whose one source is ``answer`` (by the GUID the export gives it), coded anew."""
    def upload():
        qde = (f'<Project xmlns="urn:QDA-XML:project:1.0" name="p"><Sources>'
               f'<TextSource guid="{guid("answer", str(answer.id))}" name="answer {answer.id}">'
               f'<PlainTextContent>{answer.text}</PlainTextContent>'
               f'<PlainTextSelection guid="{guid("x", "sel")}" startPosition="0" endPosition="4">'
               f'<Coding guid="{guid("x", "coding")}"><CodeRef targetGUID="{code_guid("L2.dialogue")}"/>'
               f'</Coding></PlainTextSelection></TextSource></Sources></Project>')
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("project.qde", qde)
        return {"file": (io.BytesIO(buf.getvalue()), "coded.qdpx"), "coder": ""}
    return upload


def _removed_foreign(world):
    f = world.foreign
    coding = Coding(round_id=world.round.id, respondent_id=f.open_answer.response.respondent_id,
                    answer_id=f.open_answer.id, code_id="L2.dialogue", start=0, end=6, coder=f.coder.email,
                    coder_id=f.coder.id)
    world.session.add(coding)
    world.session.flush()
    return _removed(world, coding, f.coder)


def writes(world):
    r, f = world.round, world.foreign
    a, d, c = f.open_answer.id, f.double_answer.id, f.coding.id
    return [
        Write("coding.add_coding", f"/coding/answers/{a}/codings",
              json={"code": "L2.dialogue", "valence": None, "start": 0, "end": 5}),
        Write("coding.update_coding", f"/coding/codings/{c}", json={"code": "L2.dialogue"}),
        Write("coding.delete_coding", f"/coding/codings/{c}/delete"),
        # A coding Other's coder removed: only they may put it back.
        Write("coding.restore_coding", f"/coding/codings/{_removed_foreign(world)}/restore"),
        Write("coding.add_memo", f"/coding/answers/{a}/memos", {"text": "Hostile memo"}),
        # A memo on the user's own answer, pinned to Other's coding.
        Write("coding.add_memo", f"/coding/answers/{f.own_answer.id}/memos",
              {"text": "Hostile memo", "coding_id": c}),
        Write("coding.delete_memo", f"/coding/memos/{f.memo.id}/delete"),
        Write("coding.finish_second", f"/coding/answers/{d}/done"),
        Write("coding.reconcile", f"/coding/answers/{d}/reconcile", {"keep": "L1.tools|positive"}),
        Write("coding.reconcile_agreed", f"/coding/rounds/{r.id}/reconcile-agreed"),
        Write("coding.reliability_threshold", f"/coding/rounds/{r.id}/reliability-threshold", {"threshold": "0.1"}),
        # Other's first codings would freeze if its answers were drawn for Other's coder.
        Write("coding.draw", "/coding/double/draw",
              {"round_id": r.id, "second_coder_id": f.second.id, "share": 100, "seed": 1}),
        Write("coding.import_qdpx", f"/coding/rounds/{r.id}/import.qdpx", _qdpx(f.open_answer)),
        Write("coding.accept_suggestion", f"/coding/answers/{a}/suggestions/accept",
              json={"code": "L1.tools", "valence": "positive"}),
        # Trains on the round's agreed coding; changes no authority's rows.
        Write("coding.train_suggestions", f"/coding/rounds/{r.id}/suggestions/train"),
        Write("coding.codebook_import", "/coding/codebook/import"),
        Write("coding.codebook_apply", "/coding/codebook/apply", {"definition": "", "base": ""}),
    ]
