"""The Open Event web app in the local runtime: which build to serve, and building it.

Guarantees:
- the source is the pinned tarball in the repository (`web/open-event-frontend/`, named with
  its sha256 in `SHA256SUMS`); a build is current when its `dist/.built-from` holds that
  sha256, and is kept outside the repository (`OPENEVENT_FRONTEND_CACHE`, default
  `~/.cache/openevent-frontend`), one per source;
- `start_build()` runs the project's build script in the background (the API and the lab
  console answer meanwhile) and never twice at once (the script takes a lock in the cache);
- `progress()` tells how far a build is, from the line the script keeps in the cache, for the
  page `/` shows until the build is there (`openevent.local.static`).

`OPENEVENT_WEB_APP=0` turns the web app off; `OPENEVENT_FRONTEND_DIR` serves a given build
instead (and builds nothing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def enabled() -> bool:
    return os.environ.get("OPENEVENT_WEB_APP", "1") != "0"


def source_dir() -> Path:
    return Path(os.environ.get("OPENEVENT_FRONTEND_SRC", ROOT / "web" / "open-event-frontend"))


def cache_dir() -> Path:
    return Path(os.environ.get("OPENEVENT_FRONTEND_CACHE",
                               Path.home() / ".cache" / "openevent-frontend"))


def source_sha() -> str | None:
    """The sha256 the pinned tarball must have (first field of `SHA256SUMS`)."""
    try:
        return (source_dir() / "SHA256SUMS").read_text().split()[0]
    except (OSError, IndexError):
        return None


def built_dir() -> Path:
    return cache_dir() / "dist"


def is_current() -> bool:
    """True when the cache holds a finished build of the pinned source."""
    dist = built_dir()
    try:
        built_from = (dist / ".built-from").read_text().strip()
    except OSError:
        return False
    return (dist / "index.html").is_file() and built_from == source_sha()


@dataclass(frozen=True)
class Progress:
    step: str  # check, install, translations, build, done, failed, waiting
    position: str  # "2/4"
    words: str


def progress() -> Progress:
    """Where the build is, from the script's one-line progress file."""
    try:
        line = (cache_dir() / "progress").read_text().strip()
    except OSError:
        return Progress("waiting", "0/4", "waiting for the build to start")
    step, _, rest = line.partition(" ")
    position, _, words = rest.partition(" ")
    return Progress(step or "waiting", position or "0/4", words or line)


def start_build(log_path: Path) -> subprocess.Popen[bytes] | None:
    """Start the build in the background unless the current one is there; None if nothing
    to do. Its output goes to `log_path`."""
    if is_current():
        return None
    script = source_dir() / "build.sh"
    bash = shutil.which("bash")
    if not script.is_file() or bash is None:
        return None
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = open(log_path, "ab")  # noqa: SIM115 - lives with the child
    return subprocess.Popen(  # noqa: S603 - fixed argv: the repository's build script
        [bash, str(script), str(cache_dir())], stdin=subprocess.DEVNULL,
        stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
