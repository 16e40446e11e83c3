"""A session on one slot through three phases (a 60 s at 40 %, b 60 s extendable 60 s
from 60 % to 50 %, c 60 s at 30 %; three 100 s tracks, 5 s crossfades): the track plays
on across each phase change."""

ONE_SLOT = {
    "name": "flow",
    "defaults": {"crossfade": "5s"},
    "limits": {"max_level": "80%"},
    "phases": [
        {"id": "a", "duration": "60s", "music": "x", "level": "40%"},
        {
            "id": "b",
            "duration": "60s",
            "extendable": "60s",
            "music": "x",
            "level": {"from": "60%", "to": "50%"},
        },
        {"id": "c", "duration": "60s", "music": "x", "level": "30%"},
    ],
}
ONE_SLOT_TRACKS = {"x": [100.0, 100.0, 100.0]}
