"""The three-phase session most session tests run: a (60 s, two 40 s tracks), b (120 s,
extendable 60 s, vitals every 30 s counted from a's start, acknowledged or escalating
every 10 s) and c (60 s, fading out over its last 10 s)."""

from setandsetting.core import session

PROFILE = {
    "name": "test",
    "defaults": {"crossfade": "5s"},
    "limits": {"max_level": "80%"},
    "phases": [
        {"id": "a", "duration": "60s", "music": "a", "level": "40%"},
        {
            "id": "b",
            "duration": "120s",
            "extendable": "60s",
            "music": "b",
            "level": {"from": "40%", "to": "60%"},
            "checkins": [
                {
                    "every": "30s",
                    "from": "a",
                    "kind": "vitals",
                    "audience": "staff",
                    "ack": "required",
                    "escalate_after": "10s",
                }
            ],
        },
        {"id": "c", "duration": "60s", "music": "c", "level": "30%", "fade_out": "10s"},
    ],
}
SLOTS = {"a": [40.0, 40.0], "b": [100.0], "c": [100.0]}


def run_to(state, t):
    return session.advance(state, t)
