"""M3U/M3U8: titles from #EXTINF, local paths and file:// URLs; streams are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from setandsetting.core.loader import load_playlist
from setandsetting.core.m3u import located_m3u, parse_m3u
from setandsetting.core.playlist import Playlist, Track
from setandsetting.core.problems import FormatError


def test_extinf_titles_comments_and_paths() -> None:
    text = (
        "#EXTM3U\n"
        "#PLAYLIST:Onset\n"
        "#EXTINF:312,Slow Rise\n"
        "../../music/slow rise.flac\n"
        "# a comment between entries\n"
        "\n"
        "/srv/music/drift.ogg\n"
        '#EXTINF:61 tvg-id="x",Artist - Title, with comma\n'
        "file:///srv/music/Caf%C3%A9%20del%20Mar.flac\n"
        "file://localhost/srv/music/a%2Bb.mp3\r\n"
    )
    assert parse_m3u(text, "onset.m3u8") == Playlist(
        name="Onset",
        tracks=[
            Track(path="../../music/slow rise.flac", title="Slow Rise"),
            Track(path="/srv/music/drift.ogg"),
            Track(path="/srv/music/Café del Mar.flac", title="Artist - Title, with comma"),
            Track(path="/srv/music/a+b.mp3"),
        ],
    )


def test_a_plain_path_keeps_its_percent_sign() -> None:
    assert parse_m3u("100%25 pure.flac\n", "f.m3u").tracks == [Track(path="100%25 pure.flac")]


def test_bom_at_start(tmp_path: Path) -> None:
    path = tmp_path / "onset.m3u8"
    path.write_bytes(b"\xef\xbb\xbf#EXTM3U\n#EXTINF:10,A\na.flac\n")
    assert load_playlist(path) == Playlist(tracks=[Track(path="a.flac", title="A")])
    assert parse_m3u("\ufeffb.flac\n", "f.m3u").tracks == [Track(path="b.flac")]


def test_streams_and_remote_files_are_problems_with_their_line() -> None:
    text = (
        "#EXTM3U\n"
        "ok.flac\n"
        "  https://radio.example/live.mp3\n"
        "http://radio.example/b.mp3\n"
        "file://nas/music/c.flac\n"
        "smb://nas/music/d.flac\n"
    )
    with pytest.raises(FormatError) as caught:
        parse_m3u(text, "f.m3u8")
    assert [str(p) for p in caught.value.problems] == [
        "f.m3u8:3:3: 'https://radio.example/live.mp3': the room plays local files only; "
        "save the file and list its path",
        "f.m3u8:4:1: 'http://radio.example/b.mp3': the room plays local files only; "
        "save the file and list its path",
        "f.m3u8:5:1: 'file://nas/music/c.flac': the file is on another computer (nas)",
        "f.m3u8:6:1: 'smb://nas/music/d.flac': a smb:// URL is not a local file",
    ]


@pytest.mark.parametrize("text", ["", "\n  \n"])
def test_empty_file(text: str) -> None:
    with pytest.raises(FormatError, match=r"^f\.m3u:1:1: the file is empty"):
        parse_m3u(text, "f.m3u")


def test_non_utf8_m3u(tmp_path: Path) -> None:
    path = tmp_path / "x.m3u"
    path.write_bytes(b"#EXTM3U\nCaf\xe9.flac\n")
    with pytest.raises(FormatError) as caught:
        load_playlist(path)
    assert str(caught.value) == f"{path}:2:4: byte 0xe9 is not UTF-8; save the file as UTF-8"


def test_each_track_is_located_at_its_line() -> None:
    text = "#EXTM3U\n#EXTINF:1,One\n  a.flac\n\n# note\nb.flac\n"
    playlist, where = located_m3u(text, "f.m3u")
    assert [t.path for t in playlist.tracks] == ["a.flac", "b.flac"]
    assert where == ((3, 3), (6, 1))
