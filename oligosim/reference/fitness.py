"""Patient factors that change over time and act (model 3.9), in the reference engine.

The patient's current ECOG (``Patient.ecog_now``) starts at the entry value and may worsen by one
level at each progression (one PATIENT uniform per progression, whatever happens); a systemic line
or a local therapy course starts only at a current ECOG within its limit; the other-cause hazard
carries a hazard ratio by current ECOG, so a decline moves the background death, exactly and with
no new BACKGROUND draw. At the defaults of ``[patient_factors]`` nothing here changes a result.
"""

from __future__ import annotations

import math

from oligosim import codes

__all__ = ["FitnessMixin", "background_after_change"]


def background_after_change(t: float, t_bg: float, slope: float, hr_old: float, hr_new: float) -> float:
    """The other-cause death time (months) once the hazard ratio changes from ``hr_old`` to
    ``hr_new`` at time ``t`` (months), given the time ``t_bg`` drawn under ``hr_old``.

    With the Gompertz hazard hr r60 exp(slope (age - 60)) per year, the unit exponential left at
    ``t`` is hr_old h(age_t) (exp(slope s) - 1) / slope for s = (t_bg - t) / 12 years; it runs out
    under ``hr_new`` after s' years with exp(slope s') - 1 = (hr_old / hr_new)(exp(slope s) - 1),
    whatever the age (a constant hazard, slope 0: s' = s hr_old / hr_new).
    """
    years = (t_bg - t) / 12.0
    ratio = hr_old / hr_new
    if slope <= 0.0:
        return t + 12.0 * years * ratio
    return t + 12.0 * math.log1p(ratio * math.expm1(slope * years)) / slope


class FitnessMixin:
    """ECOG over time and the treatments it allows, for :class:`oligosim.reference.patient.Patient`.

    Uses ``ecog_now``, the stream ``s_patient`` and the appointment ``background_death``.
    """

    def decline_at_progression(self) -> None:
        """One PATIENT uniform: below ``ecog_decline_at_progression`` the current ECOG worsens by
        one level (not beyond codes.ECOG_MAX), and the other-cause death moves with its hazard ratio."""
        f = self.P.pf[0]
        u = self.s_patient.uniform()
        if u < float(f["decline_p"]) and self.ecog_now < codes.ECOG_MAX:
            old = self.ecog_now
            self.ecog_now = old + 1
            self.record(codes.EV_ECOG_DECLINE, self.ecog_now)
            hr_old, hr_new = float(f["other_hr"][old]), float(f["other_hr"][old + 1])
            if hr_new != hr_old:
                now = self.env.now
                self.background_death.book(background_after_change(now, self.background_death.at, float(self.P.bg_slope), hr_old, hr_new))

    def fit_for_line(self, line: int) -> bool:
        """May systemic line ``line`` (1-3) start at the current ECOG? If not, record it as unfit."""
        if self.ecog_now <= int(self.P.pf[0]["max_ecog_line"][line - 1]):
            return True
        self.record(codes.EV_UNFIT, line)
        return False

    def fit_for_local(self) -> bool:
        """May a local therapy course (initial plan, consolidation, at an oligoprogression) be
        given at the current ECOG? If not, record it as unfit."""
        if self.ecog_now <= int(self.P.pf[0]["max_ecog_local"]):
            return True
        self.record(codes.EV_UNFIT, codes.UNFIT_LOCAL)
        return False
