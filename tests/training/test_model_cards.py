"""The shipped model cards say what export/card_notes.py says (reproduce writes one from the
other; hand edits between reproductions must keep them together)."""

import json
from pathlib import Path

import pytest

from ecgtk.export.card_notes import NOTES

MODELS = Path(__file__).parents[2] / "models"


@pytest.mark.parametrize("kind", sorted(NOTES))
def test_card_notes_match_the_shipped_cards(kind):
    card = json.loads((MODELS / f"{kind}.json").read_text())
    markdown = (MODELS / f"{kind}.md").read_text()
    for title, text in NOTES[kind].items():
        assert card["notes"][title] == text, title
        assert f"## {title}\n\n{text}" in markdown, title
