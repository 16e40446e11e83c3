"""room.yaml's `server:` keys for the web UI's security: trusted proxies and login times."""

from __future__ import annotations

from pathlib import Path

import pytest

from setandsetting.core.loader import load_room
from setandsetting.core.problems import FormatError
from setandsetting.core.room import ServerSettings


def problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "room.yaml").write_text(text)
    with pytest.raises(FormatError) as err:
        load_room(tmp_path)
    return [str(p).split("room.yaml:", 1)[1] for p in err.value.problems]


def test_by_default_no_proxy_is_trusted_and_logins_last_12_hours_idle_24_in_all() -> None:
    server = ServerSettings()
    assert (server.trusted_proxies, server.login_idle, server.login_max) == ([], 43200.0, 86400.0)


def test_proxies_and_login_times_as_written(tmp_path: Path) -> None:
    (tmp_path / "room.yaml").write_text(
        "server:\n  trusted_proxies: [127.0.0.1, '::1', 10.0.0.0/24]\n"
        "  login_idle: 30m\n  login_max: 8h\n"
    )
    server = load_room(tmp_path).server
    assert server.trusted_proxies == ["127.0.0.1", "::1", "10.0.0.0/24"]
    assert (server.login_idle, server.login_max) == (1800.0, 28800.0)


def test_mistakes_are_named_with_their_place_and_a_hint(tmp_path: Path) -> None:
    text = (
        "server:\n"
        "  trusted_proxy: [127.0.0.1]\n"
        "  trusted_proxies: [nginx, 10.0.0.1/24, '*']\n"
        "  login_idle: 10s\n"
        "  login_max: 49h\n"
    )
    assert problems(tmp_path, text) == [
        "2:3: server.trusted_proxy: unknown key `trusted_proxy` (did you mean `trusted_proxies`?)",
        "3:21: server.trusted_proxies[0]: 'nginx' is not an IP address or network; "
        "write e.g. 127.0.0.1 or 10.0.0.0/24",
        "3:28: server.trusted_proxies[1]: '10.0.0.1/24' is not an IP address or network; "
        "write e.g. 127.0.0.1 or 10.0.0.0/24",
        "3:41: server.trusted_proxies[2]: '*' is not an IP address or network; "
        "write e.g. 127.0.0.1 or 10.0.0.0/24",
        "4:15: server.login_idle: a login lasts at least 1m",
        "5:14: server.login_max: 49h is too long: a duration is at most 48h, the longest session",
    ]
