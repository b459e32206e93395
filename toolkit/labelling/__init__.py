"""Labelling: from the models' calls to each beat's label, in this order.

1. :mod:`~ecgtk.labelling.rescue`: beats model 1 rejected, given back by the rhythm (pauses);
   it runs per chunk inside :meth:`ecgtk.inference.models.BeatModels.call_chunk`, so that
   model 2 sees the beats it gives back.
2. :mod:`~ecgtk.labelling.templates`: K-means templates of the beats, look-alikes merged.
3. :mod:`~ecgtk.labelling.rules`: morphological validation rules (QRS size, template
   probability, early templates, the template vote).
4. :mod:`~ecgtk.labelling.uncertainty`: calibration and Monte-Carlo dropout spread.
5. :mod:`~ecgtk.labelling.classify`: the whole decision, chaining the above
   (:func:`classify_calls`).
6. :mod:`~ecgtk.labelling.supraventricular`: after the AF episodes are found, the N beats
   outside them that a small logistic model calls supraventricular become ``S``, each N and
   S beat with its probability and that probability's spread over the model's bootstrap fits
   (called from :func:`ecgtk.pipeline.finish_analysis`).
"""
