"""Load profiles, playlists, patient and room files, reporting every problem at FILE:LINE:COL.

pydantic validates; this module turns its errors into Problems a clinician can act on: the
position from the YAML source map, a "did you mean" for misspelt keys, one message for a
value that fits no member of a union (instead of one per member), no "Value error, " noise.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from setandsetting.core.m3u import located_m3u, parse_m3u
from setandsetting.core.playlist import Patient, Playlist
from setandsetting.core.problems import FieldPath, FormatError, Problem
from setandsetting.core.profile import Profile, semantic_problems
from setandsetting.core.room import Room
from setandsetting.core.yamlsource import YamlDoc, load_yaml, read_text

M = TypeVar("M", bound=BaseModel)

M3U_SUFFIXES = (".m3u", ".m3u8")

# What a value at a union-typed field may look like, by the field's name.
_UNION_HELP = {
    "level": "a level is `40%`, `-18dB`, `{from, to, shape}` or `{points, shape}`",
}

EXPECT = {
    Profile: "a profile needs at least `name:` and `phases:`",
    Playlist: "a playlist lists its files under `tracks:`",
    Patient: "patient.yaml may hold `display_name:`, `avoid:` and `notes:`",
    Room: "room.yaml may hold `audio:`, `library:`, `midi:`, `osc:`, `on_quiet:`, `server:`",
}


def _members(tp: Any) -> list[Any]:
    """The concrete types a field may take: Annotated, Optional and unions flattened."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _members(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        return [m for arg in get_args(tp) for m in _members(arg)]
    return [] if tp is type(None) else [tp]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _field_names(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _step(members: list[Any], part: str | int) -> list[Any]:
    """The member types one path element further down."""
    out: list[Any] = []
    for tp in members:
        origin, args = get_origin(tp), get_args(tp)
        if _is_model(tp) and isinstance(part, str):
            for name, info in tp.model_fields.items():
                if part in (name, info.alias):
                    out += _members(info.annotation)
        elif origin is list and isinstance(part, int) and args:
            out += _members(args[0])
        elif origin is tuple and isinstance(part, int) and args:
            out += _members(args[0] if args[-1] is Ellipsis else args[min(part, len(args) - 1)])
        elif origin is dict and isinstance(part, str) and len(args) == 2:
            out += _members(args[1])
    return out


@dataclass
class _Located:
    """One pydantic error walked along the data: where it is and which union member said it."""

    error: dict[str, Any]
    path: FieldPath  # as far as the data goes
    rest: tuple[str | int, ...]  # loc elements past the data (a missing key, a converted value)
    parent_members: list[Any]  # types at the last data path element's parent
    union_at: FieldPath | None = None
    member: str | None = None
    union_members: tuple[Any, ...] = ()


def _locate(error: dict[str, Any], data: Any, root: type[BaseModel]) -> _Located:
    cur, members, path = data, [root], []
    parent: list[Any] = [root]
    found = _Located(error, (), (), parent)
    rest: list[str | int] = []
    for part in error["loc"]:
        is_key = isinstance(cur, dict) and part in cur
        if len(members) > 1 and isinstance(part, str) and not is_key and not rest:
            if found.union_at is None:
                found.union_at, found.member = tuple(path), part
                found.union_members = tuple(members)
            named = [m for m in members if getattr(m, "__name__", None) == part]
            members = named or [m for m in members if not _is_model(m)]
            continue
        parent, members = members, _step(members, part)
        if rest:
            rest.append(part)
        elif is_key or (isinstance(cur, list) and isinstance(part, int) and part < len(cur)):
            cur = cur[part]
            path.append(part)
        else:
            rest.append(part)
    found.path, found.rest, found.parent_members = tuple(path), tuple(rest), parent
    return found


def _hint(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f" (did you mean `{close[0]}`?)"
    return f" (allowed here: {', '.join(allowed)})" if allowed else ""


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _message(error: dict[str, Any]) -> str:
    kind, msg, value = error["type"], error["msg"], error.get("input")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"should be a mapping of `key: value` lines, not {_shown(value)}"
    if kind == "list_type":
        return f"should be a list (`- item` lines or `[a, b]`), not {_shown(value)}"
    if msg.startswith("Value error, "):
        return msg.removeprefix("Value error, ")
    if msg.startswith("Input should be "):
        return f"should be {msg.removeprefix('Input should be ')} (got {_shown(value)})"
    return msg


def _plain(found: _Located, doc: YamlDoc) -> Problem:
    """One error outside any union (or inside the union member chosen for it)."""
    kind = found.error["type"]
    if kind == "missing" and found.rest:
        return doc.problem(found.path, f"missing required key `{found.rest[0]}`")
    if kind == "extra_forbidden" and not found.rest:
        key = str(found.path[-1])
        allowed = [f for m in found.parent_members if _is_model(m) for f in _field_names(m)]
        return doc.problem(found.path, f"unknown key `{key}`{_hint(key, allowed)}", at_key=True)
    return doc.problem(found.path, _message(found.error))


def _union(group: list[_Located], doc: YamlDoc) -> list[Problem]:
    """All members' errors for one value -> the one or few messages that help."""
    first = group[0]
    where: FieldPath = first.union_at or ()
    value: Any = doc.data
    for part in where:
        value = value[part]
    models = [m for m in first.union_members if _is_model(m)]
    if isinstance(value, dict) and models:
        allowed = sorted({f for m in models for f in _field_names(m)})
        unknown = [k for k in value if k not in allowed]
        if unknown:
            return [
                doc.problem((*where, k), f"unknown key `{k}`{_hint(k, allowed)}", at_key=True)
                for k in unknown
            ]
        by_member: dict[str, list[_Located]] = {}
        for found in group:
            if any(found.member == m.__name__ for m in models):
                by_member.setdefault(str(found.member), []).append(found)
        if by_member:
            best = min(by_member.values(), key=len)
            return [_plain(found, doc) for found in best]
    name = next((str(p) for p in reversed(where) if isinstance(p, str)), "")
    if not isinstance(value, dict | list):
        for found in group:
            if found.error["type"] == "value_error" and found.path == where:
                return [doc.problem(where, _message(found.error))]
    if name in _UNION_HELP:
        return [doc.problem(where, f"{_UNION_HELP[name]}, not {_shown(value)}")]
    return [doc.problem(where, f"{_one_of(group)} (got {_shown(value)})")]


def _one_of(group: list[_Located]) -> str:
    """'should be a valid integer' x 4 members -> 'should be a valid boolean, integer or ...'."""
    wanted = sorted({_message(f.error).split(" (got ")[0] for f in group})
    stem = "should be a valid "
    if all(w.startswith(stem) for w in wanted):
        wanted = [w.removeprefix(stem) for w in wanted]
        return (
            stem + ", ".join(wanted[:-1]) + " or " + wanted[-1]
            if len(wanted) > 1
            else stem + wanted[0]
        )
    return " or ".join(wanted)


def validation_problems(
    error: ValidationError, doc: YamlDoc, model: type[BaseModel]
) -> list[Problem]:
    """pydantic's errors for `doc` as positioned, de-duplicated Problems."""
    problems: list[Problem] = []
    unions: dict[FieldPath, list[_Located]] = {}
    for raw in error.errors():
        found = _locate(dict(raw), doc.data, model)
        if found.union_at is None:
            problems.append(_plain(found, doc))
        else:
            unions.setdefault(found.union_at, []).append(found)
    for group in unions.values():
        problems += _union(group, doc)
    return list(dict.fromkeys(problems))


def model_from_doc(doc: YamlDoc, model: type[M]) -> M:
    """Validate parsed YAML against a format model; FormatError with every problem."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise FormatError(validation_problems(exc, doc, model)) from None


def load_model(path: Path, model: type[M], *, allow_empty: bool = False) -> M:
    return model_from_doc(load_yaml(path, expect=EXPECT[model], allow_empty=allow_empty), model)


def load_profile(path: Path) -> Profile:
    """A profile, checked field by field and across fields (ids, anchors, the level cap,
    every duration's bound).

    Music slots are not checked here: which playlists exist is the room's business.
    """
    return load_profile_doc(path)[0]


def load_profile_doc(path: Path) -> tuple[Profile, YamlDoc]:
    """The profile and its source map, for problems the room finds with it (its slots)."""
    doc = load_yaml(path, expect=EXPECT[Profile])
    profile = model_from_doc(doc, Profile)
    problems = [doc.problem(where, message) for where, message in semantic_problems(profile)]
    if problems:
        raise FormatError(problems)
    return profile, doc


def load_playlist(path: Path) -> Playlist:
    """A playlist slot: YAML, or M3U/M3U8 by suffix."""
    if path.suffix.lower() in M3U_SUFFIXES:
        return parse_m3u(read_text(path), str(path))
    return load_model(path, Playlist)


def load_located_playlist(path: Path) -> tuple[Playlist, Callable[[int, str], Problem]]:
    """The playlist, and how to point a problem at its i-th track: its `path:` value, or
    its M3U line (what is wrong with a track's file is the room's to find)."""
    if path.suffix.lower() in M3U_SUFFIXES:
        playlist, lines = located_m3u(read_text(path), str(path))
        return playlist, lambda i, message: Problem(str(path), *lines[i], (), message)
    doc = load_yaml(path, expect=EXPECT[Playlist])
    playlist = model_from_doc(doc, Playlist)
    return playlist, lambda i, message: doc.problem(("tracks", i, "path"), message)


def load_patient(path: Path) -> Patient:
    """patient.yaml; a patient folder without one (or an empty one) has no preferences yet."""
    return load_model(path, Patient, allow_empty=True) if path.exists() else Patient()


def load_room(path: Path) -> Room:
    """room.yaml, or a room folder's room.yaml; every key is optional, so missing -> defaults."""
    if path.is_dir():
        path = path / "room.yaml"
    return load_model(path, Room, allow_empty=True) if path.exists() else Room()
