"""Sub-commands of the ``oligosim`` command line (one module each)."""
