"""The scheduled exports: a day's report as daily/YYYY-MM-DD.csv and, once a month's last day is exported,
that month's pay period totals as monthly/YYYY-MM.csv. Idempotent: the same day or month writes the same
key with the reports as they stand."""

import calendar
from dataclasses import dataclass
from datetime import date

from attendance.data.report_files import ReportFiles
from attendance.reports.render import as_csv, period_csv, period_rows
from attendance.reports.service import ReportService


@dataclass(frozen=True)
class Exported:
    key: str
    rows: int


def day_key(day: date) -> str:
    return f"daily/{day.isoformat()}.csv"


def month_key(first: date) -> str:
    return f"monthly/{first:%Y-%m}.csv"


def ends_its_month(day: date) -> bool:
    return day.day == _days_in_month(day)


class ReportExports:
    def __init__(self, reports: ReportService, files: ReportFiles) -> None:
        self._reports = reports
        self._files = files

    def day(self, day: date) -> Exported:
        """Everyone's report of the work day `day`."""
        reports = self._reports.daily(day)
        self._files.put_csv(day_key(day), as_csv(reports))
        return Exported(day_key(day), len(reports))

    def month(self, first: date) -> Exported:
        """The pay period totals of the month starting on `first`."""
        last = first.replace(day=_days_in_month(first))
        rows = period_rows(self._reports.period(first, last), first, last)
        self._files.put_csv(month_key(first), period_csv(rows))
        return Exported(month_key(first), len(rows))


def _days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]
