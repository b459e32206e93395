"""Engines: analysing an archive of recordings, every recording once.

- :mod:`~ecgtk.engines.archive`: finding recordings and naming their outputs.
- :mod:`~ecgtk.engines.local`: worker processes on this machine (resumable, atomic writes).
- :mod:`~ecgtk.engines.ray_engine` with :mod:`~ecgtk.engines.ray_stages`: the same on a Ray
  cluster.
"""
