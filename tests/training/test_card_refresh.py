"""Model cards re-rendered without retraining (``python -m ecgtk.export.modelcard``): the
markdown comes from the card's JSON alone, and a refresh swaps only the notes it should."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ecgtk.export import card_notes
from ecgtk.export.modelcard import ACROSS_DATABASES, main, refresh_card, render_card
from ecgtk.export.reproduce import evaluation_notes

MODELS = Path(__file__).parents[2] / "models"
KINDS = ("beat", "ventricular")


def _scores(tp: int, fn: int, fp: int) -> dict:
    se, pp = 100 * tp / (tp + fn), 100 * tp / (tp + fp)
    return {"TP": tp, "FN": fn, "FP": fp, "Se": se, "+P": pp, "F1": 2 * se * pp / (se + pp)}


def _group(records: list[str], veb_tp: int) -> dict:
    return {"pipeline": {"beats": _scores(1000, 3, 2), "veb": _scores(veb_tp, 5, 7)},
            "model_alone": {"beats": _scores(990, 13, 2), "veb": _scores(veb_tp, 9, 30)},
            "records": records}


@pytest.fixture
def evaluation(tmp_path: Path) -> Path:
    """A small hand-made ``evaluation.json`` of ``python -m ecgtk.export.evaluate``."""
    summary = {"seed": 7, "k": 4, "recipe": "shipped", "cv_databases": ["mitdb", "svdb"],
               "lodo": {"svdb": _group(["800", "801"], 41)},
               "cv": {"mitdb": _group(["101", "106", "119"], 123),
                      "svdb": _group(["800", "801"], 42)}}
    path = tmp_path / "eval" / "evaluation.json"
    path.parent.mkdir()
    path.write_text(json.dumps(summary, indent=1))
    return path


def _copy_card(kind: str, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    for suffix in (".json", ".md"):
        shutil.copyfile(MODELS / f"{kind}{suffix}", folder / f"{kind}{suffix}")
    return folder / f"{kind}.json"


@pytest.mark.parametrize("kind", KINDS)
def test_render_of_the_shipped_cards_is_their_markdown(kind):
    card = json.loads((MODELS / f"{kind}.json").read_text(encoding="utf-8"))
    assert render_card(card).encode("utf-8") == (MODELS / f"{kind}.md").read_bytes()


@pytest.mark.parametrize("kind", KINDS)
def test_refresh_replaces_the_table_and_keeps_the_rest(kind, tmp_path, evaluation):
    card_json = _copy_card(kind, tmp_path / "models")
    before = json.loads(card_json.read_text())
    assert ACROSS_DATABASES in before["notes"]

    md_path, json_path = refresh_card(card_json, [evaluation])

    assert (md_path, json_path) == (card_json.with_suffix(".md"), card_json)
    after = json.loads(card_json.read_text())
    table = after["notes"][ACROSS_DATABASES]
    assert table == evaluation_notes([evaluation]) != before["notes"][ACROSS_DATABASES]
    assert "--designs lodo cv --seed 7 --recipe shipped" in table
    assert "cv      mitdb          3" in table
    assert list(after["notes"]) == list(before["notes"])
    static = card_notes.NOTES[kind]
    for title, text in before["notes"].items():
        if title != ACROSS_DATABASES:
            assert after["notes"][title] == static.get(title, text), title
    assert {k: v for k, v in after.items() if k != "notes"} == \
        {k: v for k, v in before.items() if k != "notes"}
    assert card_json.read_text() == json.dumps(after, indent=1, default=str) + "\n"
    assert md_path.read_text() == render_card(after)
    assert f"## {ACROSS_DATABASES}\n\n{table}\n" in md_path.read_text()
    assert not [p for p in card_json.parent.iterdir() if p.name.endswith(".tmp")]


def test_refresh_without_evaluations_keeps_the_table(tmp_path):
    card_json = _copy_card("ventricular", tmp_path)
    before = json.loads(card_json.read_text())
    refresh_card(card_json, [])
    after = json.loads(card_json.read_text())
    assert after["notes"][ACROSS_DATABASES] == before["notes"][ACROSS_DATABASES]
    assert after == {**before, "notes": {**before["notes"], **card_notes.NOTES["ventricular"]}}


def test_changed_notes_reach_the_refreshed_card(tmp_path, evaluation, monkeypatch):
    card_json = _copy_card("ventricular", tmp_path)
    before = json.loads(card_json.read_text())
    monkeypatch.setitem(card_notes.NOTES["ventricular"], "Limitations", "New limits (rule 8).")
    monkeypatch.setitem(card_notes.NOTES["ventricular"], "A new note", "Text of the new note.")

    refresh_card(card_json, [evaluation])

    after = json.loads(card_json.read_text())
    assert after["notes"]["Limitations"] == "New limits (rule 8)."
    assert list(after["notes"]) == [*before["notes"], "A new note"]
    markdown = card_json.with_suffix(".md").read_text()
    assert "## Limitations\n\nNew limits (rule 8).\n" in markdown
    assert markdown.endswith("## A new note\n\nText of the new note.\n")


def test_missing_evaluation_is_named_and_nothing_is_written(tmp_path, evaluation):
    card_json = _copy_card("beat", tmp_path / "models")
    json_before, md_before = card_json.read_bytes(), card_json.with_suffix(".md").read_bytes()
    missing = tmp_path / "nowhere" / "evaluation.json"
    with pytest.raises(FileNotFoundError, match=r"nowhere/evaluation\.json"):
        refresh_card(card_json, [evaluation, missing])
    assert card_json.read_bytes() == json_before
    assert card_json.with_suffix(".md").read_bytes() == md_before


def test_command_refreshes_both_cards(tmp_path, evaluation, capsys):
    cards = [_copy_card(kind, tmp_path / "models") for kind in KINDS]
    assert main(["--card", str(cards[1]), "--card", str(cards[0]),
                 "--evaluation", str(evaluation)]) == 0
    for card_json in cards:
        card = json.loads(card_json.read_text())
        assert card["notes"][ACROSS_DATABASES] == evaluation_notes([evaluation])
        assert card_json.with_suffix(".md").read_text() == render_card(card)
    assert "refreshed" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["missing card", "invalid card", "missing evaluation",
                                 "invalid evaluation", "not an evaluation"])
def test_command_names_the_bad_file(tmp_path, evaluation, capsys, bad):
    card_json = _copy_card("ventricular", tmp_path / "models")
    json_before = card_json.read_bytes()
    bad_path = tmp_path / "bad.json"
    if bad.startswith("invalid"):
        bad_path.write_text("{not json")
    elif bad == "not an evaluation":
        bad_path.write_text(json.dumps({"lodo": {}}))
    args = ["--card", str(bad_path if bad.endswith("card") else card_json),
            "--evaluation", str(evaluation)]
    if bad.endswith("evaluation"):
        args.append(str(bad_path))
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert str(bad_path) in err
    assert ("card" if bad.endswith("card") else "evaluation") in err
    assert card_json.read_bytes() == json_before


def test_help_says_no_retraining(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "without retraining" in capsys.readouterr().out
