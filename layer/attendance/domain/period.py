"""A pay period's totals: each employee's work days (domain/timesheet.py) over the period, summed.

Payroll reads one line per employee: how many days they worked, for how long, how much of it was overtime,
how often and by how much they came late or left early, and which days someone should look at before the
hours are paid (a day with an anomaly, a day with punches added by hand).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from attendance.domain.timesheet import DayReport, whole_minutes


@dataclass(frozen=True)
class PeriodTotals:
    """Durations in minutes, each the sum of the work days' whole minutes: the period adds up to the rows of
    the same employee's timesheet, which is what whoever checks it will add up."""

    user_id: str
    work_days: int  # work days with at least one punch
    worked_minutes: int
    break_minutes: int
    overtime_minutes: int
    late_days: int
    late_minutes: int
    early_leave_days: int
    early_leave_minutes: int
    punches: int
    added_by_hand: int
    anomaly_days: tuple[date, ...]  # in date order


def period_totals(days: Iterable[DayReport], expected: Iterable[str] = ()) -> list[PeriodTotals]:
    """Each employee's totals over their work days, by userId. An `expected` employee without a work day in
    the period (on leave all of it, say, or their clock unheard) has a line of zeros, for payroll to see."""
    by_user: dict[str, list[DayReport]] = {user_id: [] for user_id in expected}
    for day in days:
        by_user.setdefault(day.user_id, []).append(day)
    return [_totals(user_id, reports) for user_id, reports in sorted(by_user.items())]


def _totals(user_id: str, days: list[DayReport]) -> PeriodTotals:
    def minutes(span: Callable[[DayReport], timedelta]) -> int:
        return sum(whole_minutes(span(day)) for day in days)

    return PeriodTotals(
        user_id=user_id,
        work_days=len(days),
        worked_minutes=minutes(lambda day: day.worked),
        break_minutes=minutes(lambda day: day.breaks),
        overtime_minutes=minutes(lambda day: day.overtime),
        late_days=sum(1 for day in days if day.late),
        late_minutes=minutes(lambda day: day.late),
        early_leave_days=sum(1 for day in days if day.early_leave),
        early_leave_minutes=minutes(lambda day: day.early_leave),
        punches=sum(day.punches for day in days),
        added_by_hand=sum(day.added_by_hand for day in days),
        anomaly_days=tuple(sorted(day.work_day for day in days if day.anomalies)),
    )
