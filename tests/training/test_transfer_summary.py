"""The transfer experiment's one-sentence summary on model 2's card reads its own scores."""

from ecgtk.export.transfer import summary

F1 = {"pretrained@chosen": 68.71, "pretrained@0.5": 68.7, "finetuned@chosen": 82.37,
      "finetuned@0.5": 82.45, "scratch@chosen": 71.65, "scratch@0.5": 81.15}


def test_summary_reports_each_model_at_both_thresholds():
    result = {"adapt_minutes": 5.0, "scores": {k: {"veb": {"F1": v}} for k, v in F1.items()}}
    text = summary(result)
    assert "first 5 minutes" in text
    assert "from 68.7 to 82.4 % at the chosen threshold (82.5 % at p >= 0.5)" in text
    assert "against 71.7 % for a model trained from scratch" in text and "(81.2 % at" in text
