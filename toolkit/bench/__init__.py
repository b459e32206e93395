"""``ecgtk bench``: the whole pipeline timed per stage on tiled recordings."""
