"""numba kernels: they see only arrays and scalars; :mod:`anygram.index` validates and converts."""
