"""Registered devices: how to read their clocks and whether they may send punches."""

from pydantic import BaseModel, ConfigDict


class Device(BaseModel):
    model_config = ConfigDict(frozen=True)

    device_id: str
    time_zone: str | None = None  # IANA zone of the device's wall clock; None: the stack default
    enabled: bool = True
