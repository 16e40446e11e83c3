"""Round-trip YAML files written atomically: the user's comments kept, a failed write harmless.

Files are read and written with ruamel's round-trip mode, so comments and key order
survive; each write goes to a temporary file in the same folder, is checked (by the real
loader, when the caller gives a check), and replaces the old file with os.replace — a
failed write leaves the old file exactly as it was.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def round_trip_yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    return yaml


def write_atomic(path: Path, text: str, check: Callable[[Path], object] | None = None) -> None:
    """Write text to path through a temp file in the same folder; check it before replacing."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if check is not None:
            check(tmp)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def dump(data: Any) -> str:
    out = io.StringIO()
    round_trip_yaml().dump(data, out)
    return out.getvalue()
