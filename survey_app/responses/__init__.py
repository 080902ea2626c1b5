"""The respondent's answers: what a page post means (``page_save``: pure functions, no
database) and how responses are stored (``storage``: one SQLAlchemy Core path for SQLite
and PostgreSQL, one transaction per post)."""
from .page_save import PageSave, ResponseState, SaveOutcome, decode_answer, encode_answer, plan_page_save
from .storage import PagePost, SurveyService

__all__ = ["PagePost", "PageSave", "ResponseState", "SaveOutcome", "SurveyService", "decode_answer", "encode_answer",
           "plan_page_save"]
