"""Start the lab's local parts: a mosquitto broker, a simulated edge agent, the result relay."""

from __future__ import annotations

import logging
import shutil
from typing import Any

log = logging.getLogger("openevent.lab.local")


def start_lab(runtime: Any) -> str:
    """Returns a one-line status for the banner."""
    if shutil.which("mosquitto") is None:
        return "off (mosquitto is not installed; `make run` installs it)"
    return "pending: the lab group is not built yet"
