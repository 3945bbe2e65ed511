"""A punch voided to correct its type is added again, by hand, with the type it should have had.

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
        if result.outcome is StoreOutcome.DUPLICATE:  # added by an earlier try, or by hand before
            return Correction(f"added again as {punch_type}: {result.log_id}", done=True)
        if result.outcome is StoreOutcome.NEAR_DUPLICATE:
            return Correction(
                f"not added again as {punch_type}: it would be a near duplicate of {result.log_id}", done=True
            )
        return Correction(f"adding it again as {punch_type}: a punch beside it is being stored", done=False)
