"""The room's own errors: what a request asked of the room folder that cannot be done.

Surfaces map these (and only these) to a user's error — 400 and 404 in the API, exit 2 in
the CLI — so that a bug elsewhere (a bare ValueError from deep inside) stays an internal
error and never reaches a user dressed as their mistake.
"""

from __future__ import annotations


class RoomError(Exception):
    """A request the room folder refuses, in one clear sentence."""


class EditError(RoomError):
    """A request that cannot be done (bad name, path, index...)."""


class NotFound(RoomError):
    """The profile, slot, patient or track named does not exist."""
