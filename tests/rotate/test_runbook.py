"""Runbooks per secret class, from the config alone."""

from __future__ import annotations

from pathlib import Path

from vaultline.project.model import Project
from vaultline.rotate import runbook


def test_an_api_key_runbook_per_environment(api_project: Path) -> None:
    text = runbook.render(Project.load(api_project), key_class="api-key")
    assert text.count("## api-key in ") == 2  # staging and prod
    assert "- `Api:WebhookToken`: dual, new values from `token:32`, grace 1d" in text
    assert "- `Api:Replaced`: replace, new values from `password:24:aA0`, grace none" in text
    assert "`REF@previous`" in text and "every 7d" in text
    assert "prod is protected" in text and "staging is protected" not in text
    assert "sessions are ended" not in text  # no database key in this class


def test_an_unknown_class_says_so(api_project: Path) -> None:
    text = runbook.render(Project.load(api_project), key_class="tls")
    assert "No rotated secret of class 'tls'" in text
