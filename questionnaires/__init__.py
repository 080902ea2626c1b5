"""Questionnaire files shipped as examples and templates.

``path(name)`` gives the file of a shipped questionnaire, e.g. ``path("acsi_retail")``.
"""
from importlib import resources
from pathlib import Path

SHIPPED = ("acsi_retail", "ccsi_mobile")


def path(name: str) -> Path:
    return Path(str(resources.files(__name__).joinpath(f"{name}.yaml")))
