"""Speed and quality benchmarks of sparktune against Hyperopt and Optuna (programs, not tests).

Importing this package pins BLAS/OpenMP to one thread before anything imports numpy, so CPU
times are comparable between libraries and between machines with different core counts.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
