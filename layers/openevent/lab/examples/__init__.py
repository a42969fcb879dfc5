"""Read-only example scripts shipped with the lab (``GET /v1/lab/examples``).

Each example is a ``.py`` file in this folder; its first line is ``# <title>``.
"""

from __future__ import annotations

import re
from importlib import resources

_NAME_RE = re.compile(r"[a-z0-9_]{1,40}\.py")


def _files() -> dict[str, str]:
    root = resources.files(__name__)
    return {p.name: p.read_text(encoding="utf-8") for p in root.iterdir()
            if _NAME_RE.fullmatch(p.name) and p.name != "__init__.py"}


def _title(code: str, name: str) -> str:
    first = code.splitlines()[0] if code else ""
    return first[1:].strip() if first.startswith("#") else name


def list_examples() -> list[dict[str, str]]:
    """``[{"name": "multimeter.py", "title": "..."}]``, sorted by name."""
    return [{"name": n, "title": _title(c, n)} for n, c in sorted(_files().items())]


def get_example(name: str) -> dict[str, str] | None:
    """``{"name", "title", "code"}`` of one example, or None (unknown or unsafe name)."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or name == "__init__.py":
        return None
    code = _files().get(name)
    return None if code is None else {"name": name, "title": _title(code, name), "code": code}
