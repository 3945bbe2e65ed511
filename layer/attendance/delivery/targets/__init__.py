"""CRM targets: one small module each. A target turns a punch into an HTTP request and judges the answer."""

from attendance.delivery.targets.base import CrmTarget
from attendance.delivery.targets.frappe import FrappeTarget
from attendance.delivery.targets.generic import GenericTarget

TARGETS: dict[str, type[CrmTarget]] = {"generic": GenericTarget, "frappe": FrappeTarget}
