"""The room folder the room/ tests edit: the API test room plus an M3U default slot."""

from __future__ import annotations

from pathlib import Path

import pytest

from setandsetting.room.folder import RoomFolder
from tests.support.daemon import make_api_room

M3U = "#EXTM3U\n#PLAYLIST:Waves\n#EXTINF:8,Wave A\n../../music/t2.flac\n../../music/t3.flac\n"


@pytest.fixture
def folder(tmp_path: Path) -> RoomFolder:
    root = tmp_path / "room"
    make_api_room(root)
    (root / "playlists/default/waves.m3u8").write_text(M3U)
    return RoomFolder(root)
