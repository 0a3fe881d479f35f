"""Radiobiology: BED, EQD2, local control (TCP), NTCP and re-irradiation with recovery.

The module became a package; its contents are in :mod:`oligosim.radiobiology.api` for now.
"""

from oligosim.radiobiology.api import *  # noqa: F403  (the public names, as before)
from oligosim.radiobiology.api import (  # noqa: F401  (module attributes outside __all__)
    DEFAULT_INTERFRACTION_INTERVAL_H,
    TREATMENT_DAYS_PER_WEEK,
    __all__,
    _solve_tcp_anchors,
)
