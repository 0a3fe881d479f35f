"""Private numba kernels: random streams, cohort generation, the event loop."""
