"""What tags say about a track's voice, and the filter words the catalogue is searched by."""

from __future__ import annotations

from pathlib import PurePath

import pytest

from setandsetting.core.catalogue import (
    Condition,
    Entry,
    matches,
    parse_conditions,
    vocals_from_tags,
)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"instrumental": "1", "language": "eng"}, "instrumental"),  # the explicit tag first
        ({"instrumental": "No", "language": "zxx"}, "vocals"),
        ({"language": "zxx"}, "instrumental"),  # MusicBrainz: no linguistic content
        ({"language": "deu", "genre": "Instrumental"}, "vocals"),
        ({"language": "und", "genre": "Ambient Instrumental"}, "instrumental"),
        ({"lyrics": "la la"}, "vocals"),
        ({"instrumental": "maybe", "genre": "Ambient"}, None),
        ({}, None),
    ],
)
def test_vocals_from_tags(tags: dict[str, str], expected: str | None) -> None:
    assert vocals_from_tags(tags) == expected


def entry(**fields: object) -> Entry:
    base: dict[str, object] = {"path": "music/a.flac", "file": PurePath("/r/music/a.flac")}
    return Entry(**{**base, "title": "Dawn", "duration_s": 60.0, **fields})  # type: ignore[arg-type]


def test_conditions_are_parsed_and_all_must_hold() -> None:
    words = parse_conditions(["Instrumental", " genre = Ambient ", "language=zxx"])
    assert words == (
        Condition("vocals", "instrumental"),
        Condition("genre", "ambient"),
        Condition("language", "zxx"),
    )
    assert [str(w) for w in words] == ["instrumental", "genre=ambient", "language=zxx"]
    calm = entry(vocals="instrumental", genre="AMBIENT", language="zxx")
    assert matches(calm, words)
    assert not matches(entry(vocals="instrumental", genre="Ambient"), words)  # no language
    assert not matches(entry(vocals="vocals", genre="Ambient", language="zxx"), words)
    for bad in ("mood=calm", "genre=", "loud"):
        with pytest.raises(ValueError, match="is not a tag filter"):
            parse_conditions([bad])


def test_search_words_are_all_found_in_title_artist_album_genre_or_path() -> None:
    track = entry(artist="Ana Ng", album="Tides", genre="Drone")
    assert matches(track, (), "dawn tides")
    assert matches(track, (), "  ana  music/a ")
    assert matches(track, (), "DRONE")
    assert not matches(track, (), "dawn storm")
