"""`setandsetting midi ports` as a user runs it, against a real JACK server and without one."""

from __future__ import annotations

import pytest

from setandsetting.cli import main
from tests.support.jack import Jack, VirtualInput, VirtualOutput, jack

__all__ = ["jack"]


@pytest.mark.midi
def test_lists_inputs_and_outputs(jack: Jack, capsys: pytest.CaptureFixture[str]) -> None:
    lights, pedal = VirtualInput("QLC+ in"), VirtualOutput("FS-1 pedal", client="FS-1")
    try:
        code = main(["midi", "ports", "--api", "UNIX_JACK"])
    finally:
        lights.close()
        pedal.close()
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert out == (
        "MIDI system: Jack\n"
        "inputs (for midi.inputs: foot switches, knobs):\n"
        "  FS-1:FS-1 pedal\n"
        "outputs (for midi.outputs: lights, diffusers):\n"
        "  test:QLC+ in\n"
    )


def test_without_a_midi_system_says_so_plainly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "sns-no-such-server")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    assert main(["midi", "ports", "--api", "UNIX_JACK"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "setandsetting midi ports: no MIDI system available "
        "(Jack: MidiOutJack::initialize: JACK server not running?)\n"
    )


def test_unknown_api_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["midi", "ports", "--api", "BEOS"]) == 2
    assert "unknown MIDI API 'BEOS'; use one of LINUX_ALSA" in capsys.readouterr().err
