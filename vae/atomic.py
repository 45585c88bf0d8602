"""Atomic file writes: a reader (or a crash) never sees half a file, and a failed write leaves the old one intact."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Callable


def write_atomic(path: str | os.PathLike, write: Callable[[IO], None], *, text: bool = False,
                 fsync: bool = False) -> Path:
    """Call write(f) on a temporary file in the same folder, then rename it over `path`.

    fsync=True also flushes it to disk before the rename (for files worth surviving a power cut: checkpoints).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w" if text else "wb") as f:
            write(f)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; these are ordinary readable files
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
