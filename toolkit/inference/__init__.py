"""Inference: the two ONNX models run on a recording's candidates.

- :mod:`~ecgtk.inference.sessions`: ONNX Runtime sessions (provider, threads, batching) and
  the models' self-description (:class:`ModelInfo`, read from their ONNX metadata).
- :mod:`~ecgtk.inference.inputs`: the windows and context channels the models read, exactly
  as training builds them.
- :mod:`~ecgtk.inference.models`: :class:`BeatModels`, both models per worker, called per
  chunk (model 1 beat or artefact, the pause rescue, model 2 normal or ventricular).
"""
