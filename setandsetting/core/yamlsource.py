"""Safe YAML loading that remembers where every key and value was written.

ruamel.yaml composes the node graph (with marks); we build plain dicts, lists and scalars
ourselves, so no tag can construct an object, aliases cannot expand without bound, duplicate
keys are caught, and every field path maps back to a LINE:COL for the error message.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from setandsetting.core.problems import FieldPath, FormatError, Problem

Pos = tuple[int, int]  # 1-based line, column

MAX_ALIAS_NODES = 10_000
MAX_DEPTH = 64

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}

# ruamel's wording -> what a clinician editing a file can act on.
_PLAIN = (
    ("found character '\\t' that cannot start any token", "tabs cannot indent YAML; use spaces"),
    ("mapping values are not allowed here", "a `:` here is not allowed; quote the value"),
    ("could not find expected ':'", "expected `key: value` here (a `:` is missing)"),
    ("found undefined alias", "this alias (*name) has no anchor (&name) before it"),
    ("found another document", "one YAML document per file: remove the second `---`"),
    ("maximum depth of data structure exceeded", "the data nests too deeply"),
)


@dataclass(frozen=True)
class YamlDoc:
    """Plain data plus where each path's key and value were written (1-based)."""

    file: str
    data: Any
    keys: dict[FieldPath, Pos]
    values: dict[FieldPath, Pos]

    def value_pos(self, path: FieldPath) -> Pos:
        """The value at `path`, or the nearest enclosing value that was written."""
        for n in range(len(path), -1, -1):
            if path[:n] in self.values:
                return self.values[path[:n]]
        return (1, 1)

    def key_pos(self, path: FieldPath) -> Pos:
        return self.keys.get(path) or self.value_pos(path)

    def problem(self, path: FieldPath, message: str, *, at_key: bool = False) -> Problem:
        line, col = self.key_pos(path) if at_key else self.value_pos(path)
        return Problem(self.file, line, col, path, message)


class _Alias:
    """An alias as written: the node it names, and where the alias itself stands."""

    def __init__(self, node: Node, pos: Pos) -> None:
        self.node = node
        self.pos = pos
        self.start_mark = node.start_mark


class _PositionComposer(Composer):
    """Keeps each alias's own position (ruamel returns the anchored node in its place)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.parser.check_event(AliasEvent):
            mark = self.parser.peek_event().start_mark
            return _Alias(super().compose_node(parent, index), (mark.line + 1, mark.column + 1))
        return super().compose_node(parent, index)


class _Stop(Exception):
    def __init__(self, pos: Pos, path: FieldPath, message: str) -> None:
        super().__init__(message)
        self.pos, self.path, self.message = pos, path, message


def _pos(node: Node | _Alias) -> Pos:
    if isinstance(node, _Alias):
        return node.pos
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _scalar(node: ScalarNode) -> Any:
    tag, text = str(node.tag), node.value
    if tag == f"{_TAG}null":
        return None
    if tag == f"{_TAG}bool":
        return text.lower() == "true"
    try:
        if tag == f"{_TAG}int":
            digits = text.replace("_", "")
            try:
                return int(digits, 0)
            except ValueError:
                return int(digits, 10)
        if tag == f"{_TAG}float":
            lowered = text.lower().replace("_", "")
            if lowered.lstrip("+-") in (".inf", "inf"):
                return -math.inf if lowered.startswith("-") else math.inf
            return math.nan if lowered == ".nan" else float(lowered)
    except ValueError:
        return text  # e.g. YAML 1.1 sexagesimal `1:20:00`: the schema parses the text
    return text  # str, and timestamps kept as written


class _Builder:
    """Node graph -> plain data, recording positions, bounding alias expansion and depth."""

    def __init__(self) -> None:
        self.keys: dict[FieldPath, Pos] = {}
        self.values: dict[FieldPath, Pos] = {}
        self.alias_nodes = 0
        self.alias_at: tuple[Pos, FieldPath] | None = None  # the outermost alias expanding
        self.open: set[int] = set()  # ids of the collections being built (alias cycles)

    def build(self, node: Node | _Alias, path: FieldPath) -> Any:
        if len(path) > MAX_DEPTH:
            raise _Stop(_pos(node), path, f"the data nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, _Alias):
            if id(node.node) in self.open:
                raise _Stop(node.pos, path, "this alias refers to a list or mapping around it")
            if self.alias_at is not None:
                return self.build(node.node, path)
            self.values[path] = node.pos
            self.alias_at = (node.pos, path)
            try:
                return self.build(node.node, path)
            finally:
                self.alias_at = None
        if self.alias_at is not None:
            self.alias_nodes += 1
            if self.alias_nodes > MAX_ALIAS_NODES:
                raise _Stop(
                    *self.alias_at,
                    f"aliases expand to more than {MAX_ALIAS_NODES} values "
                    "(an alias bomb?); write the data out instead",
                )
        else:
            self.values[path] = _pos(node)
        tag = str(node.tag)
        if isinstance(node, ScalarNode):
            if tag not in _SCALAR_TAGS:
                raise _Stop(_pos(node), path, _bad_tag(tag))
            return _scalar(node)
        self.open.add(id(node))
        try:
            return self._collection(node, tag, path)
        finally:
            self.open.discard(id(node))

    def _collection(self, node: Node, tag: str, path: FieldPath) -> Any:
        if isinstance(node, SequenceNode):
            if tag != f"{_TAG}seq":
                raise _Stop(_pos(node), path, _bad_tag(tag))
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if not isinstance(node, MappingNode) or tag != f"{_TAG}map":
            raise _Stop(_pos(node), path, _bad_tag(tag))
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, path)
            if key in result:
                first = self.keys.get((*path, key), _pos(key_node))
                raise _Stop(
                    _pos(key_node),
                    (*path, key),
                    f"duplicate key `{key}` (first written at {first[0]}:{first[1]})",
                )
            if self.alias_at is None:
                self.keys[(*path, key)] = _pos(key_node)
            result[key] = self.build(value_node, (*path, key))
        return result

    def _key(self, node: Node | _Alias, path: FieldPath) -> str:
        target = node.node if isinstance(node, _Alias) else node
        if str(target.tag) == f"{_TAG}merge":
            raise _Stop(_pos(node), path, "merge keys (<<) are not supported; write the keys out")
        if not isinstance(target, ScalarNode):
            raise _Stop(_pos(node), path, "a key must be a plain word, not a list or mapping")
        if str(target.tag) not in _SCALAR_TAGS:
            raise _Stop(_pos(node), path, _bad_tag(str(target.tag)))
        return str(target.value)


def _bad_tag(tag: str) -> str:
    shown = "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag
    return f"the tag `{shown}` is not allowed; write plain values (no tags)"


def decode_utf8(raw: bytes, file: str) -> str:
    """Strict UTF-8 (a leading BOM is dropped); a bad byte is a problem at its LINE:COL."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)  # codec skips the BOM
        line_start = raw.rfind(b"\n", 0, start) + 1
        before = raw[line_start:start].removeprefix(b"\xef\xbb\xbf" if line_start == 0 else b"")
        col = len(before.decode("utf-8", errors="replace")) + 1
        line = raw.count(b"\n", 0, start) + 1
        message = f"byte 0x{raw[start]:02x} is not UTF-8; save the file as UTF-8"
        raise FormatError([Problem(file, line, col, (), message)]) from None


def _line_col(text: str, index: int) -> Pos:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _syntax_problem(exc: YAMLError, text: str, file: str) -> Problem:
    if isinstance(exc, ReaderError):
        line, col = _line_col(text, exc.position)
        what = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        return Problem(file, line, col, (), f"control character {what} is not allowed in YAML")
    assert isinstance(exc, MarkedYAMLError)
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message = str(exc.problem or exc.context or "invalid YAML")
    for raw, plain in _PLAIN:
        if raw in message:
            message = plain
            break
    else:
        if exc.context and exc.context_mark and exc.problem_mark:
            cm = exc.context_mark
            opened = f"{cm.line + 1}:{cm.column + 1}"
            if "flow mapping" in exc.context or "flow sequence" in exc.context:
                bracket = "{" if "mapping" in exc.context else "["
                message = f"the `{bracket}` opened at {opened} is not closed ({message})"
            else:
                message += f" ({exc.context} that starts at {opened})"
    return Problem(file, line, col, (), f"YAML syntax: {message}")


def parse_yaml(text: str, file: str, *, expect: str, allow_empty: bool = False) -> YamlDoc:
    """Parse one YAML document; `expect` says what the file should hold if it is empty."""
    yaml = YAML(typ="safe", pure=True)  # no comment gathering: about a fifth faster
    yaml.Composer = _PositionComposer
    yaml.max_depth = MAX_DEPTH
    try:
        root = yaml.compose(io.StringIO(text))
    except YAMLError as exc:
        raise FormatError([_syntax_problem(exc, text, file)]) from None
    except RecursionError:
        raise FormatError([Problem(file, 1, 1, (), "the YAML nests too deeply")]) from None
    if root is None or (isinstance(root, ScalarNode) and str(root.tag) == f"{_TAG}null"):
        if allow_empty:
            return YamlDoc(file, {}, {}, {(): (1, 1)})
        raise FormatError([Problem(file, 1, 1, (), f"the file is empty; {expect}")])
    builder = _Builder()
    try:
        data = builder.build(root, ())
    except _Stop as stop:
        raise FormatError([Problem(file, *stop.pos, stop.path, stop.message)]) from None
    return YamlDoc(file, data, builder.keys, builder.values)


def read_text(path: Path) -> str:
    """A user's file as text: unreadable or non-UTF-8 is a FormatError naming the file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise FormatError([Problem(str(path), None, None, (), f"cannot read: {reason}")]) from None
    return decode_utf8(raw, str(path))


def load_yaml(path: Path, *, expect: str, allow_empty: bool = False) -> YamlDoc:
    """Read, decode and parse a YAML file; every failure is a FormatError with positions."""
    return parse_yaml(read_text(path), str(path), expect=expect, allow_empty=allow_empty)
