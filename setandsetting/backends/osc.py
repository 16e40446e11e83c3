"""OSC environment cues over UDP through python-osc.

Targets are named in room.yaml (`osc.targets: {lights: "127.0.0.1:7700"}`). Host names are
resolved once, at construction: a DNS lookup on every send could block the engine's device
thread. The socket is non-blocking, so a send never waits either.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

from pythonosc.osc_message_builder import BuildError, OscMessageBuilder
from pythonosc.udp_client import UDPClient

from setandsetting.backends.base import CueBackend, CueError, configured_name
from setandsetting.core.room import parse_target

_ARG_TYPES = (int, float, str, bool, bytes)


def _resolve(name: str, host: str, port: int) -> tuple[str, int]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise ValueError(f"OSC target {name!r}: cannot resolve host {host!r} ({exc})") from None
    ipv4 = [info for info in infos if info[0] == socket.AF_INET]  # most OSC gear listens on v4
    return str((ipv4 or infos)[0][4][0]), port


def build_osc(payload: Mapping[str, Any]) -> Any:
    """A profile's osc payload -> python-osc message; CueError says what is wrong."""
    if not isinstance(payload, Mapping):
        raise CueError("an osc cue is a mapping, e.g. {address: /lights/scene, args: [2]}")
    unknown = sorted(set(payload) - {"address", "args", "target"})
    if unknown:
        raise CueError(f"OSC: unknown key `{unknown[0]}`")
    address = payload.get("address")
    if not isinstance(address, str) or not address.startswith("/") or " " in address:
        raise CueError(f"OSC address {address!r} must start with / and have no spaces")
    args = payload.get("args", [])
    args = list(args) if isinstance(args, list | tuple) else [args]
    for arg in args:
        if not isinstance(arg, _ARG_TYPES):
            raise CueError(f"OSC {address}: argument {arg!r} is not a number, text or bytes")
    builder = OscMessageBuilder(address=address)
    for arg in args:
        builder.add_arg(arg)
    try:
        return builder.build()
    except BuildError as exc:
        raise CueError(f"OSC {address}: {exc}") from None


class OscCues(CueBackend):
    """Sends OSC cues to the targets named in room.yaml (name -> host:port)."""

    def __init__(self, targets: Mapping[str, str]) -> None:
        self._clients: dict[str, UDPClient] = {}
        try:
            for name, target in targets.items():
                host, port = _resolve(name, *parse_target(name, target))
                self._clients[name] = UDPClient(host, port)
        except (ValueError, OSError):
            self.close()
            raise

    def target_name(self, target: str | None) -> str:
        """The configured target a cue means: `target`, or the only one configured."""
        return configured_name(
            target, self._clients, kind="OSC target", named="OSC target", key="osc.targets"
        )

    def send(self, cue: dict[str, Any]) -> None:
        if set(cue) != {"osc"}:
            raise CueError("OscCues sends only {'osc': {...}} cues")
        payload = cue["osc"]
        message = build_osc(payload)
        name = self.target_name(payload.get("target"))
        try:
            self._clients[name].send(message)
        except OSError as exc:
            raise CueError(f"OSC target {name!r}: {exc}") from None

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
