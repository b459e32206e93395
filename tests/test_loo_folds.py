"""``python -m ecgtk.benchmarks.loo_folds``: one fold per patient, each with the model 1 and the
calls of the K-fold run's fold that held the patient out, and no patient on both sides."""

import json

import pytest

from ecgtk.benchmarks import loo_folds
from ecgtk.export import thresholds
from ecgtk.export.records import patient_of

RUN = [
    {"fold": 0, "test_records": ["101", "118"], "train_records": ["106", "119"],
     "val_records": ["203"], "records": {"101": {}, "118": {}, "118e06": {}},
     "thresholds": {"beat": 0.1, "ventricular": 0.8}},
    {"fold": 1, "test_records": ["106", "119", "203"], "train_records": ["101"],
     "val_records": ["118"], "records": {"106": {}, "119": {}, "119e_6": {}, "203": {}},
     "thresholds": {"beat": 0.03, "ventricular": 0.5}},
]


def test_plan_holds_out_every_patient_once_with_its_noise_records():
    plan = loo_folds.leave_one_out_plan(RUN)
    assert [p["patient"] for p in plan] == ["101", "118", "106", "119", "203"]
    by = {p["patient"]: p for p in plan}
    assert by["118"]["source_fold"] == 0 and by["118"]["test_records"] == ["118"]
    assert by["118"]["scored_records"] == ["118", "118e06"]  # its nstdb calls go with it
    assert by["119"]["scored_records"] == ["119", "119e_6"]
    for p in plan:
        assert p["patient"] not in {patient_of(r) for r in p["others"]}
        assert len(p["others"]) == 4  # every other patient's model-2 records
    with pytest.raises(ValueError, match="more than one fold"):
        loo_folds.leave_one_out_plan([RUN[0], {**RUN[1], "records": {"101": {}}}])


def test_assemble_writes_folds_a_run_reader_can_use(tmp_path, monkeypatch):
    run = tmp_path / "cv"
    for meta in RUN:
        d = run / f"fold{meta['fold']}"
        d.mkdir(parents=True)
        (d / "fold.json").write_text(json.dumps(meta))
        (d / "beat.keras").write_bytes(f"model 1 of fold {meta['fold']}".encode())
        (d / "beat.train.json").write_text("{}")
        for record in meta["records"]:
            (d / f"probs_{record}.npz").write_bytes(record.encode())
    drawn = []

    def fake_split(data_dirs, records, seed=0, fraction=0.2):
        drawn.append((list(records), seed))
        return list(records)[1:], list(records)[:1]

    monkeypatch.setattr(thresholds, "validation_split", fake_split)
    folds = loo_folds.assemble(run, tmp_path / "loo", [tmp_path], seed=7)
    assert len(folds) == 5 and all(seed == 7 for _, seed in drawn)
    fold1 = json.loads((tmp_path / "loo" / "fold1" / "fold.json").read_text())
    assert fold1["patient"] == "118" and fold1["test_records"] == ["118"]
    assert fold1["val_records"] + fold1["train_records"] == ["101", "106", "119", "203"]
    assert fold1["thresholds"]["beat"] == 0.1  # its source fold's model 1 threshold
    out = tmp_path / "loo" / "fold1"
    assert (out / "beat.keras").read_bytes() == b"model 1 of fold 0"
    assert sorted(p.name for p in out.glob("probs_*.npz")) == ["probs_118.npz", "probs_118e06.npz"]
    fold4 = json.loads((tmp_path / "loo" / "fold4" / "fold.json").read_text())
    assert fold4["patient"] == "203" and fold4["thresholds"]["beat"] == 0.03
    with pytest.raises(FileNotFoundError, match="no finished"):
        loo_folds.assemble(tmp_path / "empty", tmp_path / "x", [tmp_path])
