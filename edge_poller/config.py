"""The poller's TOML configuration, validated; the cloud key may come from the environment instead."""

import os
import re
import socket
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from attendance.domain.clock import ZoneName
from attendance.domain.punch import PunchType

DEFAULT_CONFIG = Path("edge-poller.toml")
UnknownPunch = Literal["alternate", "in", "out", "break_out", "break_in", "overtime_in", "overtime_out"]


def _host_name() -> str:
    """The default poller name: this machine's name, in the characters a name may hold."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:64] or "edge-poller"


class ConfigError(Exception):
    """The configuration cannot be used; the message says what to fix."""


class DeviceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    driver: Literal["zkteco", "hikvision"] = "zkteco"
    host: str
    port: int | None = Field(
        default=None, ge=1, le=65535, description="default: 4370 (ZKTeco), 80/443 (Hikvision)"
    )
    comm_key: int = Field(default=0, ge=0)
    username: str = "admin"  # Hikvision ISAPI (HTTP digest auth)
    password: SecretStr = SecretStr("")
    scheme: Literal["http", "https"] = "http"
    backfill_days: int = Field(default=7, ge=1, description="Hikvision: how far back the first read looks")
    time_zone: ZoneName
    enabled: bool = True
    device_id: str | None = Field(default=None, description="default: the device's serial number")
    unknown_punch: UnknownPunch = Field(
        default="alternate", description="type for state 255 or unknown: fixed, or in/out alternating per day"
    )
    timeout_seconds: float = Field(default=10, gt=0, le=300)
    clear_after_days: int | None = Field(default=None, ge=1)

    @property
    def effective_port(self) -> int:
        if self.port:
            return self.port
        if self.driver == "zkteco":
            return 4370
        return 443 if self.scheme == "https" else 80

    def fixed_unknown_type(self) -> PunchType | None:
        return None if self.unknown_punch == "alternate" else PunchType(self.unknown_punch)


class PollerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cloud_url: str = Field(pattern=r"^https?://\S+$")
    api_key: SecretStr
    interval_seconds: float = Field(default=60, ge=1)
    state_dir: Path = Path("edge-poller-state")
    push_batch_size: int = Field(
        default=500, ge=1, le=500, description="the most punches in one push; the size adapts below it"
    )
    push_batch_min: int = Field(
        default=25,
        ge=1,
        le=500,
        description="the fewest punches in one push when the cloud struggles (default: 25, or push_batch_size "
        "if that is smaller)",
    )
    push_timeout_seconds: float = Field(default=30, gt=0)
    clock_drift_warn_minutes: float = Field(default=5, ge=0)
    poller_name: str = Field(
        default_factory=_host_name,
        pattern=r"^[A-Za-z0-9._-]{1,64}$",
        description="health reports say they come from edge:<poller_name>; default: the host name",
    )
    health_reports: bool = True
    health_interval_seconds: float = Field(
        default=300,
        ge=60,
        lt=900,
        description="an unchanged device is reported at least this often: below the cloud's silent "
        "threshold (15 minutes by default), so a running poller's devices never look silent",
    )
    devices: list[DeviceConfig] = Field(min_length=1)

    @field_validator("devices")
    @classmethod
    def _unique_names(cls, devices: list[DeviceConfig]) -> list[DeviceConfig]:
        names = [device.name for device in devices]
        if len(set(names)) != len(names):
            raise ValueError("device names must be unique")
        return devices

    @model_validator(mode="after")
    def _batch_bounds(self) -> "PollerConfig":
        if self.push_batch_min > self.push_batch_size:
            if "push_batch_min" in self.model_fields_set:
                raise ValueError(
                    f"push_batch_min ({self.push_batch_min}) must not exceed push_batch_size ({self.push_batch_size})"
                )
            self.push_batch_min = self.push_batch_size  # only a small size was set: it is the floor too
        return self

    def device(self, name: str) -> DeviceConfig:
        for device in self.devices:
            if device.name == name:
                return device
        raise ConfigError(f"no device named {name!r}; configured: {', '.join(d.name for d in self.devices)}")


def load_config(path: Path) -> PollerConfig:
    """Read the TOML file; EDGE_POLLER_CLOUD_URL and EDGE_POLLER_API_KEY override it."""
    try:
        raw = tomllib.loads(
            path.read_text(encoding="utf-8-sig")
        )  # a BOM, as Notepad may save it, is no error
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found (see edge-poller.example.toml)") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text: save it as UTF-8") from None
    except OSError as error:  # a directory, or a file this user may not read
        raise ConfigError(f"cannot read config file {path}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    for key, variable in (("cloud_url", "EDGE_POLLER_CLOUD_URL"), ("api_key", "EDGE_POLLER_API_KEY")):
        if os.environ.get(variable):
            raw[key] = os.environ[variable]
    try:
        config = PollerConfig.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(_problem(e) for e in error.errors(include_url=False))
        raise ConfigError(f"{path}: {problems}") from None
    if not config.state_dir.is_absolute():
        config = config.model_copy(update={"state_dir": path.parent.resolve() / config.state_dir})
    return config


def _problem(error: Any) -> str:
    """One problem in words, with the hint the usual mistakes need."""
    where = ".".join(str(part) for part in error["loc"]) or "config"
    said = f"{where}: {error['msg']}"
    key = error["loc"][-1] if error["loc"] else None
    if error["loc"] == ("api_key",) and error["type"] == "missing":
        return said + " (or set EDGE_POLLER_API_KEY)"
    if (
        error["loc"][:1] == ("devices",)
        and error["type"] == "extra_forbidden"
        and key in PollerConfig.model_fields
    ):
        return said + f" ({key} is a setting of the whole poller: put it above the first [[devices]])"
    return said
