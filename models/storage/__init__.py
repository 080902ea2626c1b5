"""Storage: schema, connections, migrations and the repository functions."""
from .db import current_revision, default_url, head_revision, make_engine, session_factory, upgrade
from .bulk_insert import bulk_insert_responses
from .repository import (StorageError, create_invitations, create_wave, find_wave, hash_token, load_wave_frame,
                         register_questionnaire)

__all__ = [
    "StorageError", "bulk_insert_responses", "create_invitations", "create_wave", "current_revision",
    "default_url", "find_wave", "hash_token", "head_revision", "load_wave_frame", "make_engine",
    "register_questionnaire", "session_factory", "upgrade",
]
