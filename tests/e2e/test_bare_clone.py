"""A bare clone is enough: nothing the build, the tests or CI read lives outside the repository.

A person who clones the project has the repository and nothing beside it. These tests clone
the committed tree into an empty folder and resolve the build from there, and grep every file
that the Makefile, scripts, tests and CI read for references that leave the repository.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# what must not be referenced (spelled in pieces so this file does not match itself)
OUTSIDE = re.compile(r"\.\./" + "shared" + r"|" + "shared" + r"/(clients|design|hooks)|/work/")
READ_BY_THE_BUILD = ("Makefile", ".ci/", "tests/", "bench/", "infra/", "layers/", "functions/",
                     "edge_agent/", "web/", "pyproject.toml")


def _tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return [line for line in out.splitlines() if line.startswith(READ_BY_THE_BUILD)]


def test_no_file_the_build_reads_refers_outside_the_repository():
    me = str(Path(__file__).relative_to(ROOT))
    hits = []
    for name in _tracked():
        path = ROOT / name
        if name == me or name.endswith((".tar.gz", ".png", ".woff2", ".woff", ".ttf")) or \
                name.endswith("package-lock.json") or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        hits += [f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
                 for m in OUTSIDE.finditer(text)]
    assert hits == [], "files the build reads refer outside the repository:\n" + "\n".join(hits)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed tree, cloned into a folder that holds nothing else."""
    empty = tmp_path_factory.mktemp("empty")
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(empty / "project")], check=True)
    assert [p.name for p in empty.iterdir()] == ["project"]
    return empty / "project"


def _make(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    return subprocess.run(["make", *args], cwd=clone, env=env, capture_output=True, text=True,
                          timeout=120)


def test_a_clone_in_an_empty_folder_resolves_every_path_of_run_and_test(clone: Path):
    done = _make(clone, "-n", "test", "run", "frontend")
    assert done.returncode == 0, done.stdout + done.stderr
    text = done.stdout
    assert "../" not in text and "shared" not in text, text
    home = str(Path.home())
    allowed = (str(clone), f"{home}/.cache/", "/usr/", "/bin/", "/dev/null", "/etc/")
    absolute = set(re.findall(r"(?<![\w.:/])(/[\w.\-/]+)", text))
    outside = sorted(p for p in absolute if not p.startswith(allowed))
    assert outside == [], f"`make -n` reaches outside the clone: {outside}"
    # the steps that read sources name the clone's own copy
    assert "web/open-event-frontend/build.sh" in text
    assert "sha256sum --check" in text


def test_the_web_app_source_is_checked_before_a_build(clone: Path, tmp_path: Path):
    ok = _make(clone, "frontend-source-check")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    source = clone / "web" / "open-event-frontend"
    sums = (source / "SHA256SUMS").read_text().split()
    tarball = source / sums[1]
    assert tarball.is_file() and (source / "LICENSE").is_file()
    assert "e6f8b09" in (source / "README.md").read_text()
    assert (source / "package-lock.json").is_file()  # `npm ci` installs what it pins
    with tarball.open("ab") as f:  # a changed source is refused, by make and by the script
        f.write(b"\0")
    refused = _make(clone, "frontend-source-check")
    assert refused.returncode != 0
    assert "does not match SHA256SUMS" in refused.stdout + refused.stderr
    out = tmp_path / "cache"
    script = subprocess.run(["bash", str(source / "build.sh"), str(out)], capture_output=True,
                            text=True, timeout=60)
    assert script.returncode == 2, script.stdout + script.stderr
    assert "refusing to build" in script.stderr
    assert not (out / "src").exists() and not (out / "dist").exists()
    shutil.rmtree(out)
