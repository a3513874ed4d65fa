"""Arena: a self-hostable, arena-style pairwise human evaluation app for LLMs."""

import os

# One BLAS thread per process, set before numpy loads: the fits solve systems of a few
# hundred unknowns, where OpenBLAS's threads only spin against the web server for the two
# cores (a 200-model solve took 120 ms instead of 0.8 ms on a busy 2-core machine).
# An owner's own setting wins.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
