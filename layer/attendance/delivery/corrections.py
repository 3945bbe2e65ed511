"""A punch voided to correct its type is added again, by hand, with the type it should have had; whether it
can be is checked before the void is made (CorrectionCheck).

The worker adds it once the voided punch is out of the CRM and before marking that punch voided, so a
crash in between leaves the void to be finished again, which finds the correction stored (an exact
duplicate) and goes on: the correction is made once, and never lost. It is judged as any punch an admin adds
(attendance/domain/dedup.py), except that the punch it replaces does not count against it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from attendance.data.errors import StoreUnavailable
from attendance.data.punch_intake import PunchIntake, StoreOutcome
from attendance.data.queue import PunchQueue
from attendance.domain.dedup import Verdict
from attendance.domain.punch import Punch, PunchType, corrected

logger = Logger(child=True)


@dataclass(frozen=True)
class Correction:
    note: str  # for the voided punch's history
    done: bool  # False: not made yet; the void is finished on a later try


class PunchCorrections:
    def __init__(
        self, intake: PunchIntake, queue: PunchQueue, window_seconds: int, retention: timedelta
    ) -> None:
        self._intake = intake
        self._queue = queue
        self._window_seconds = window_seconds
        self._retention = retention

    def add(self, voided: Punch, punch_type: PunchType, now: datetime) -> Correction:
        """The punch `voided` replaced by one of `punch_type`, stored and queued for the CRM."""
        punch = corrected(voided, punch_type, now)
        try:
            result = self._intake.add(
                punch, self._window_seconds, self._retention, now, replacing=voided.log_id
            )
        except StoreUnavailable as error:
            return Correction(f"adding it again as {punch_type}: {error}", done=False)
        if result.outcome is StoreOutcome.ACCEPTED:
            if self._queue.send([punch.log_id]):
                logger.warning(
                    "a correction stored but not queued; the sweep sends it", extra={"logId": punch.log_id}
                )
            return Correction(f"added again as {punch_type}: {punch.log_id}", done=True)
        if result.outcome is StoreOutcome.DUPLICATE and self._intake.voided(result.log_id):
            return Correction(
                f"not added again as {punch_type}: that punch ({result.log_id}) was voided before", done=True
            )
        if result.outcome is StoreOutcome.DUPLICATE:  # added by an earlier try of this correction
            return Correction(f"added again as {punch_type}: {result.log_id}", done=True)
        if result.outcome is StoreOutcome.NEAR_DUPLICATE:
            return Correction(
                f"not added again as {punch_type}: it would be a near duplicate of {result.log_id}", done=True
            )
        return Correction(f"adding it again as {punch_type}: a punch beside it is being stored", done=False)


@dataclass(frozen=True)
class CorrectionCheck:
    """Whether a punch voided to correct its type can be added again with it, judged as PunchCorrections
    will judge it, so that a void is not made for a correction that cannot be."""

    intake: PunchIntake
    window_seconds: int

    def refusal(self, voided: Punch, corrected_type: PunchType, now: datetime) -> str | None:
        """Why the corrected punch would be a duplicate; None when it can be added."""
        punch = corrected(voided, corrected_type, now)
        judgement = self.intake.judgement(punch, self.window_seconds, now, replacing=voided.log_id)
        if judgement.verdict is Verdict.EXACT:
            return (
                f"that {corrected_type} punch was stored before ({punch.log_id}; perhaps voided since), and a "
                "punch is stored once: void this one alone and add the punch by hand a second apart"
            )
        if judgement.verdict is Verdict.NEAR:
            return (
                f"a {corrected_type} punch then would be a near duplicate of punch {judgement.log_id} "
                f"(within {self.window_seconds} s): void this one alone"
            )
        return None
