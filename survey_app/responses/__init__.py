"""The respondent's answers: what a page post means (``page_save``: pure functions, no
database) and how responses are stored (``storage``: one SQLAlchemy Core path for SQLite
and PostgreSQL, one transaction per post)."""
from .page_save import PageSave, ResponseState, SaveOutcome, plan_page_save
from .storage import PagePost, RespondentService

__all__ = ["PagePost", "PageSave", "ResponseState", "SaveOutcome", "RespondentService", "plan_page_save"]
