"""Files written under temp names and renamed into place together when the writer closes, so an
interrupted export leaves only temp names (NAME.tmp-XXXXXXXX), never a half file under a real name."""
from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from corpusmill.common.files import temp_path


class StagedFiles:
    def __init__(self):
        self._open: dict[Path, tuple[Path, BinaryIO]] = {}

    def open(self, path: Path) -> BinaryIO:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(path)
        fh = open(tmp, "wb")
        self._open[path] = (tmp, fh)
        return fh

    def commit(self) -> None:
        for path, (tmp, fh) in self._open.items():
            fh.close()  # a no-op for a file its writer closed already (fewer open handles)
            os.replace(tmp, path)
        self._open.clear()

    def abort(self) -> None:
        for tmp, fh in self._open.values():
            fh.close()
            tmp.unlink(missing_ok=True)
        self._open.clear()
