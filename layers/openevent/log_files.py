"""The local log file: size-rotated (`OPENEVENT_LOG_MAX_BYTES`, 10 MiB; `OPENEVENT_LOG_BACKUPS`,
5 kept, so the logs never take more than (backups + 1) x max bytes), and a line that cannot be
written (a full disk) is dropped with one line on stderr per outage, never a traceback.
Loaded only where a log file is written (the local runtime), not on a Lambda's cold start.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

LOG_MAX_BYTES = 10 << 20
LOG_BACKUPS = 5


class RotatingLog(logging.handlers.RotatingFileHandler):
    """Size-rotated log file that drops what it cannot write (a full disk) quietly: one
    line on stderr when writing starts failing, none per record."""

    failing = False  # the last record could not be written
    _error = False

    def emit(self, record: logging.LogRecord) -> None:  # called under the handler's lock
        self._error = False
        super().emit(record)
        if not self._error:
            self.failing = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        self._error = True
        if not self.failing:
            self.failing = True
            import sys

            try:
                print(f"openevent: cannot write the log {self.baseFilename}; its lines are "
                      "dropped until writing works again.", file=sys.stderr, flush=True)
            except (OSError, ValueError):
                pass


def rotating_log(path: Path) -> RotatingLog:
    """The local log file handler (see the module docstring for the limits)."""
    return RotatingLog(path, maxBytes=int(os.environ.get("OPENEVENT_LOG_MAX_BYTES",
                                                         LOG_MAX_BYTES)),
                       backupCount=int(os.environ.get("OPENEVENT_LOG_BACKUPS", LOG_BACKUPS)),
                       encoding="utf-8")
