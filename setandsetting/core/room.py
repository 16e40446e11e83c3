"""Room settings (room.yaml): devices, routing, ports, server bind. Every key optional."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, field_validator

from setandsetting.core.alerts import AlertSettings
from setandsetting.core.profile import CuePayload
from setandsetting.core.types import Duration, Frozen
from setandsetting.core.units import as_float

_LUFS = r"\s*(-?\d+(?:\.\d+)?)\s*(?:[lL][uU][fF][sS]|[lL][kK][fF][sS])?\s*"


def _lufs(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = as_float(value)
    elif isinstance(value, str) and (m := re.fullmatch(_LUFS, value)):
        number = float(m.group(1))
    else:
        raise ValueError(f"{value!r} is not a loudness; write e.g. -23 LUFS")
    if not -70 <= number <= 0:
        raise ValueError("a loudness target lies between -70 and 0 LUFS")
    return number


Lufs = Annotated[
    float,
    BeforeValidator(
        _lufs,
        json_schema_input_type=Annotated[float, Field(ge=-70, le=0)]
        | Annotated[str, Field(pattern=f"^{_LUFS}$", description="-23 LUFS")],
    ),
]


class AudioSettings(Frozen):
    music_output: str = "default"
    patient_chimes: str = "default"
    staff_chimes: str | None = None
    # Tracks are brought to this loudness (EBU R128) when set; unset, they play as mastered.
    loudness_target: Lufs | None = None

    def outputs(self) -> dict[str, str]:
        """Each sound output the room has, with its device: music and patient chimes
        always, staff chimes when named (else they sound in the web UI only)."""
        named = {"music": self.music_output, "patient_chimes": self.patient_chimes}
        return named | ({} if self.staff_chimes is None else {"staff_chimes": self.staff_chimes})


class MidiInputSettings(Frozen):
    port: str = Field(min_length=1)
    map: dict[str, str] = {}


class MidiSettings(Frozen):
    outputs: dict[str, str] = {}
    inputs: dict[str, MidiInputSettings] = {}


def parse_target(name: str, target: str) -> tuple[str, int]:
    """OSC target `name`, `host:port` or `[v6]:port` -> (host, port): how room.yaml's targets
    are read when they are checked and when the OSC backend opens them. ValueError says what
    is wrong. Whether the host resolves is the backend's question, asked when it opens."""
    example = "write host:port, e.g. 127.0.0.1:7700"
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"OSC target {name!r}: {example}")
    if not 0 < int(port) < 65536:
        raise ValueError(f"OSC target {name!r}: port {port} is not in 1..65535; {example}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


class OscSettings(Frozen):
    targets: dict[str, str] = {}

    @field_validator("targets")
    @classmethod
    def _host_port(cls, targets: dict[str, str]) -> dict[str, str]:
        for name, target in targets.items():
            parse_target(name, target)
        return targets


def _proxy_address(value: str) -> str:
    try:
        ipaddress.ip_network(value)  # strict, as uvicorn reads it
    except ValueError:
        raise ValueError(
            f"{value!r} is not an IP address or network; write e.g. 127.0.0.1 or 10.0.0.0/24"
        ) from None
    return value


ProxyAddress = Annotated[str, AfterValidator(_proxy_address)]
LOGIN_MIN_S = 60.0  # a login lasts at least a minute (at most what any Duration may be)


class ServerSettings(Frozen):
    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=1, le=65535)
    # Reverse proxies whose X-Forwarded-For names the client (uvicorn's forwarded_allow_ips).
    # Naming any says the room is reached through them: then every request needs the login.
    trusted_proxies: list[ProxyAddress] = []
    login_idle: Duration = 12 * 3600.0  # a login unused this long ends
    login_max: Duration = 24 * 3600.0  # and every login ends this long after it began

    @field_validator("login_idle", "login_max")
    @classmethod
    def _login_span(cls, seconds: float) -> float:
        if seconds < LOGIN_MIN_S:
            raise ValueError("a login lasts at least 1m")
        return seconds


def _hub_url(value: str) -> str:
    scheme, sep, rest = value.partition("://")
    host = rest.split("/", 1)[0]
    if not sep or scheme not in ("http", "https") or not host or any(c.isspace() for c in value):
        raise ValueError(f"{value!r} is not the hub's address; write e.g. http://clinic:8800")
    return value.rstrip("/")


class ClinicSettings(Frozen):
    """Where this room reports to: the clinic hub, under which name, with which token."""

    url: Annotated[str, AfterValidator(_hub_url)]
    room: str = Field(min_length=1, max_length=64)
    token_file: str = Field(min_length=1)  # relative to the room folder; kept 0600


class Room(Frozen):
    audio: AudioSettings = AudioSettings()
    library: list[str] = []
    midi: MidiSettings = MidiSettings()
    osc: OscSettings = OscSettings()
    on_quiet: list[CuePayload] = []
    server: ServerSettings = ServerSettings()
    resume_window: Duration = 900.0
    clinic: ClinicSettings | None = None
    alerts: AlertSettings | None = None  # thresholds for readings when a profile names none
