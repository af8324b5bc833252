"""Every mapped class, imported in one place so the metadata is complete."""
from impactmodel.analysis.models import AuthorityMemo
from impactmodel.audit import AuditEvent
from impactmodel.auth.models import LoginAttempt, Role, User, researcher_assignment
from impactmodel.codebook.models import Code, CodebookVersion, Coding
from impactmodel.coding.models import DoubleCoding, Memo, SuggestionModel
from impactmodel.consortium.models import (Authority, Case, KeyGroup, Locality, Participation,
                                           Respondent, Round)
from impactmodel.fieldwork.models import (Answer, Instrument, InstrumentVersion, Invitation,
                                          Response, ResponseMode, ResponseStatus, SafeguardingFlag)
from impactmodel.indicators.models import IndicatorValue
from impactmodel.jobs import Job
from impactmodel.scoring.models import ConfidenceScore

__all__ = [
    "Answer", "AuditEvent", "Authority", "AuthorityMemo", "Case", "Code", "CodebookVersion", "Coding",
    "ConfidenceScore", "DoubleCoding", "IndicatorValue", "Instrument", "InstrumentVersion", "Invitation", "Job",
    "KeyGroup", "Locality", "LoginAttempt", "Memo", "Participation", "Respondent", "Response",
    "ResponseMode", "ResponseStatus", "Role", "Round", "SafeguardingFlag", "SuggestionModel", "User",
    "researcher_assignment",
]
