"""What to do when a real part a test needs (PulseAudio, JACK, a tmpfs) is not there.

On a developer's machine the test is skipped, saying what to install. Under CI (CI set, as
`.ci/run` runs) it fails: `make test` installs these parts as root, so a missing one there
is an install step gone wrong, and a suite that skipped its real-device tests must not pass.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required under CI: the real backends must be tested)")
    pytest.skip(reason)
