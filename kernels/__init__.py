"""Numba kernels of ecgtk: pure functions over numpy arrays (filtering, R-peak detection,
resampling, window slicing, RR intervals). Each Numba core has a plain-numpy reference that the
tests compare it against."""
