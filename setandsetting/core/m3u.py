"""M3U/M3U8 playlists: one local file per line, `#EXTINF` titles, `file://` URLs.

Media players export these; the room plays only local files (a stream can drop out in the
middle of a session), so an http(s) entry is a problem, not a track.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from setandsetting.core.playlist import Playlist, Track
from setandsetting.core.problems import FormatError, Problem

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")


def _local_path(entry: str) -> str:
    """A path line or URL -> the local path it names; ValueError says why it cannot be played."""
    if not _URL.match(entry):
        return entry
    url = urlsplit(entry)
    scheme = url.scheme.lower()
    if scheme in ("http", "https"):
        raise ValueError(
            f"{entry!r}: the room plays local files only; save the file and list its path"
        )
    if scheme != "file":
        raise ValueError(f"{entry!r}: a {scheme}:// URL is not a local file")
    if url.netloc not in ("", "localhost"):
        raise ValueError(f"{entry!r}: the file is on another computer ({url.netloc})")
    path = unquote(url.path)
    if not path:
        raise ValueError(f"{entry!r}: the URL names no file")
    return path


def parse_m3u(text: str, file: str) -> Playlist:
    """Parse M3U text; every line that cannot be a track is a problem with its line number."""
    return located_m3u(text, file)[0]


def located_m3u(text: str, file: str) -> tuple[Playlist, tuple[tuple[int, int], ...]]:
    """The playlist and where each track's line is (LINE, COL), for problems about a track."""
    if not text.strip():
        raise FormatError(
            [Problem(file, 1, 1, (), "the file is empty; a playlist lists one file path per line")]
        )
    name: str | None = None
    title: str | None = None
    tracks: list[Track] = []
    where: list[tuple[int, int]] = []
    problems: list[Problem] = []
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        line = raw.strip()
        col = len(raw) - len(raw.lstrip()) + 1
        if not line:
            continue
        if line.upper().startswith("#EXTINF:"):
            _, comma, rest = line.partition(",")
            title = (rest.strip() or None) if comma else None
        elif line.upper().startswith("#PLAYLIST:"):
            name = line.partition(":")[2].strip() or None
        elif line.startswith("#"):
            continue
        else:
            try:
                path = _local_path(line)
            except ValueError as exc:
                problems.append(Problem(file, number, col, (), str(exc)))
            else:
                tracks.append(Track(path=path, title=title))
                where.append((number, col))
            title = None
    if problems:
        raise FormatError(problems)
    return Playlist(name=name, tracks=tracks), tuple(where)
