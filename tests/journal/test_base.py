"""The engine's view of the journal: a session kept nowhere still keeps the promise's shape."""

from setandsetting.journal.base import SessionLog, Unjournaled


def test_unjournaled_acknowledges_at_once_and_is_never_degraded() -> None:
    log: SessionLog = Unjournaled()
    done: list[str] = []
    log.append({"type": "note", "t": 0.0, "text": "kept nowhere"})
    log.after_written(lambda: done.append("acknowledged"))
    assert done == ["acknowledged"]
    assert log.degraded is None
