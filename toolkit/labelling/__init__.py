"""Labelling: from the models' calls to each beat's label, in this order.

1. :mod:`~ecgtk.labelling.rescue`: beats model 1 rejected, given back by the rhythm (pauses).
2. :mod:`~ecgtk.labelling.templates`: K-means templates of the beats, look-alikes merged.
3. :mod:`~ecgtk.labelling.rules`: morphological validation rules (QRS size, template
   probability, early templates, the template vote).
4. :mod:`~ecgtk.labelling.uncertainty`: calibration and Monte-Carlo dropout spread.
5. :mod:`~ecgtk.labelling.classify`: the whole decision, chaining the above
   (:func:`classify_calls`).
"""
