"""Build what AWS Lambda runs: one code zip per function group, layers with only the
runtime dependencies each function imports, and the renderer's container build context.

    python -m infra.package          # (make package) → build/lambda/, manifest.json
    python -m infra.package --force  # rebuild the dependency layers too

Platform: x86_64, manylinux2014 wheels (glibc 2.17; the Lambda Python 3.12 runtime is Amazon
Linux 2023, glibc 2.34), CPython 3.12 — the interpreter of the Lambda runtime, found next to
the system one (pyenv's, or `python3.12` on PATH; `lambda_python()`), compiles the core's
bytecode and runs the artifact tests. x86_64 rather than Graviton because then the artifact test
(tests/infra/test_artifacts.py) runs the very bytes that deploy on this x86_64 machine — a
missing or wrong native wheel fails here, not in AWS. Graviton is ~20 % cheaper per GB-second;
switching is `ARCH = "arm64"` (wheels manylinux2014_aarch64, `Architecture.ARM_64`), after
which the test would run a host-platform twin instead of the deployed bytes.

Layout (all under build/lambda/):
- layers/deps-core-<hash>/python     pynamodb, PyJWT, argon2, cryptography, tzdata, Powertools
- layers/payments-<hash>/python      stripe, requests (orders only)
- layers/openevent/python/openevent  the core package (no local runtime, no sandboxes), with
                                     bytecode compiled unchecked-hash (Lambda's /opt is read-only)
- functions/<group>.zip              Chalice's own packager: app.py + Chalice's runtime module
- renderer/                          docker build context of infra/renderer/Dockerfile
- host-pdf-<hash>/python             the renderer's Python deps for THIS host and CPython 3.12
                                     (tests only; its image installs the same lines)
- manifest.json                      what each function gets, and sizes

boto3/botocore and their dependencies are not shipped: the Lambda runtime provides them.
Dependency layers are cached by a hash of their requirement lines and the platform, so a
rebuild after a code change only copies the core and re-zips the groups (a few seconds).
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tomllib
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "lambda"
ARCH = "x86_64"
PLATFORM = "manylinux2014_x86_64"
PYTHON = "3.12"
RUNTIME = "python3.12"  # Amazon Linux 2023 (python3.11 is Amazon Linux 2, end of support 2026)
# Distributions the Lambda Python runtime already has (/var/runtime): never shipped.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil",
                    "six"}
# Build-time-only packages that must never reach an artifact.
NEVER = {"pip", "setuptools", "wheel", "chalice", "moto", "pytest", "click", "blessed",
         "inquirer", "pyyaml", "awscrt", "awsiotsdk", "fonttools", "weasyprint", "pikepdf"}
# Core-package folders that only the local runtime uses.
CORE_EXCLUDE = {"local", "sandboxes", "__pycache__"}
GROUPS = ("auth", "events", "orders", "lab")


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function: its group's code, its handler, the layers it gets, its budget."""

    name: str
    group: str
    handler: str
    layers: tuple[str, ...]
    budget_mb: int
    memory_mb: int = 512
    timeout_s: int = 29


CORE_LAYERS = ("deps-core", "openevent")
ORDERS_LAYERS = (*CORE_LAYERS, "payments")
FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec("auth-api", "auth", "app.app", CORE_LAYERS, 30),
    FunctionSpec("events-api", "events", "app.app", CORE_LAYERS, 30),
    FunctionSpec("orders-api", "orders", "app.app", ORDERS_LAYERS, 60, memory_mb=1024),
    FunctionSpec("orders-expire", "orders", "app.expire_orders", ORDERS_LAYERS, 60,
                 timeout_s=60),
    FunctionSpec("orders-refunds", "orders", "app.retry_refunds", ORDERS_LAYERS, 60,
                 timeout_s=120),
    FunctionSpec("lab-api", "lab", "app.app", CORE_LAYERS, 30),
    FunctionSpec("lab-iot-results", "lab", "app.iot_results", CORE_LAYERS, 30),
    FunctionSpec("lab-stream-socket", "lab", "app.stream_socket", CORE_LAYERS, 30),
    FunctionSpec("lab-stream-frames", "lab", "app.stream_frames", CORE_LAYERS, 30),
)
# The ticket renderer is a container image (WeasyPrint needs Pango): infra/renderer/.
RENDERER_HANDLER = "app.render_tickets"


@dataclass
class Manifest:
    arch: str
    python: str
    layers: dict[str, str] = field(default_factory=dict)  # name -> dir (relative to ROOT)
    functions: dict[str, str] = field(default_factory=dict)  # group -> zip (relative)
    renderer_context: str = ""
    host_pdf: str = ""
    sizes: dict[str, int] = field(default_factory=dict)  # function name -> unpacked bytes


# --- requirements -----------------------------------------------------------------------

def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    for sep in "<>=!~;[ ":
        requirement = requirement.split(sep)[0]
    return requirement.strip().lower().replace("_", "-")


def requirements() -> dict[str, list[str]]:
    """Each dependency layer's requirement lines, from pyproject (one source of truth)."""
    project = _project()
    core = [r for r in project["dependencies"] if _name(r) not in {"chalice", "boto3"}]
    extras = project["optional-dependencies"]
    return {"deps-core": core, "payments": list(extras["payments"]),
            "pdf": core + list(extras["pdf"])}


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12]


def _pip(target: Path, reqs: list[str], *, platform: str | None) -> None:
    # wheels for this host: resolved by the runtime's version itself (its pip)
    python = sys.executable if platform else str(lambda_python())
    cmd = [python, "-m", "pip", "install", "--quiet", "--no-compile",
           "--disable-pip-version-check", "--target", str(target)]
    if platform:
        cmd += ["--platform", platform, "--only-binary=:all:", "--python-version", PYTHON,
                "--implementation", "cp"]
    subprocess.run([*cmd, *reqs], check=True)  # noqa: S603 - our own interpreter, fixed args


def _distributions(path: Path) -> dict[str, metadata.Distribution]:
    return {_name(d.metadata["Name"]): d for d in metadata.distributions(path=[str(path)])}


def _remove(path: Path, names: set[str]) -> None:
    """Delete installed distributions (every file their RECORD lists) from a --target dir."""
    for name, dist in _distributions(path).items():
        if name not in names:
            continue
        for f in dist.files or []:
            p = Path(str(dist.locate_file(f)))
            if p.is_file():
                p.unlink()
    for d in sorted(path.rglob("*"), reverse=True):  # emptied folders
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    shutil.rmtree(path / "bin", ignore_errors=True)


def _dependency_layer(name: str, reqs: list[str], drop: set[str], *, force: bool,
                      platform: str | None = PLATFORM) -> Path:
    key = _digest(reqs, sorted(drop), platform, PYTHON, "py-" + PYTHON)
    layer = OUT / "layers" / f"{name}-{key}"
    if platform is None:
        layer = OUT / f"host-{name}-{key}"
    if layer.is_dir() and not force:
        return layer
    shutil.rmtree(layer, ignore_errors=True)
    tmp = layer.with_name(layer.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    _pip(tmp / "python", reqs, platform=platform)
    _remove(tmp / "python", drop)
    for old in layer.parent.glob(f"{'host-' if platform is None else ''}{name}-*"):
        if old.is_dir() and old.name != tmp.name:
            shutil.rmtree(old)  # superseded versions
    tmp.rename(layer)
    return layer


# --- the core package and the group zips --------------------------------------------------

def _copy_core(dest: Path) -> None:
    src = ROOT / "layers" / "openevent"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, ignore=lambda d, names: [
        n for n in names if (Path(d) == src and n in CORE_EXCLUDE) or n == "__pycache__"
        or n.endswith(".pyc")])


def lambda_python() -> Path:
    """An interpreter of the Lambda runtime's version (CPython `PYTHON`) on this machine."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = sorted(pyenv.glob(f"{PYTHON}.*/bin/python{PYTHON}"), reverse=True)
    found = shutil.which(f"python{PYTHON}")
    if found and "/shims/" not in found:  # pyenv's shims answer only for a selected version
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise SystemExit(f"infra/package.py: no Python {PYTHON} here (the Lambda runtime's); "
                     f"install it, e.g. `pyenv install {PYTHON}`")


def _compile(path: Path) -> None:
    # unchecked-hash: valid however the zip sets mtimes; Lambda cannot write pycache itself.
    # Compiled by the runtime's own version, or Lambda would ignore the files.
    if sys.version_info[:2] == tuple(int(p) for p in PYTHON.split(".")):
        compileall.compile_dir(str(path), quiet=1,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        return
    subprocess.run([str(lambda_python()), "-m", "compileall", "-q", "--invalidation-mode",  # noqa: S603
                    "unchecked-hash", str(path)], check=True)


def _group_zip(group: str) -> Path:
    """Chalice's packager builds the group's deployment.zip (app.py + chalice runtime)."""
    from chalice.api import package_app

    out = OUT / "chalice" / group
    shutil.rmtree(out, ignore_errors=True)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the packager asks boto
    sys.modules.pop("app", None)  # Chalice imports each group's `app` module in turn
    package_app(str(ROOT / "functions" / group), str(out), "dev",
                {"lambda_architecture": ARCH, "autogen_policy": False,
                 "manage_iam_role": False, "iam_role_arn": "unused: infra/stack.py"})
    target = OUT / "functions" / f"{group}.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / "deployment.zip", target)
    return target


def _renderer_context(pdf_reqs: list[str]) -> Path:
    """infra/renderer/Dockerfile's context: the orders app, Chalice's runtime, the core."""
    ctx = OUT / "renderer"
    shutil.rmtree(ctx, ignore_errors=True)
    (ctx / "task").mkdir(parents=True)
    shutil.copyfile(ROOT / "infra" / "renderer" / "Dockerfile", ctx / "Dockerfile")
    (ctx / "requirements.txt").write_text(
        "# generated by infra/package.py from pyproject.toml (core + pdf extras)\n"
        + "\n".join(pdf_reqs) + "\n")
    import zipfile

    with zipfile.ZipFile(OUT / "functions" / "orders.zip") as z:
        z.extractall(ctx / "task")
    _copy_core(ctx / "task" / "openevent")
    return ctx


def unpacked_bytes(path: Path) -> int:
    """Bytes a zip holds uncompressed, or a folder's file bytes: what Lambda's limit counts."""
    if path.suffix == ".zip":
        import zipfile

        with zipfile.ZipFile(path) as z:
            return sum(i.file_size for i in z.infolist())
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build(force: bool = False) -> Manifest:
    OUT.mkdir(parents=True, exist_ok=True)
    reqs = requirements()
    manifest = Manifest(arch=ARCH, python=PYTHON)
    core = _dependency_layer("deps-core", reqs["deps-core"], RUNTIME_PROVIDED, force=force)
    core_names = set(_distributions(core / "python"))
    payments = _dependency_layer("payments", reqs["payments"], RUNTIME_PROVIDED | core_names,
                                 force=force)
    # the renderer's Python deps for this host, for the runtime's version (its image installs
    # the same lines); the artifact test runs them with this host's Pango
    host_pdf = _dependency_layer("pdf", reqs["pdf"], RUNTIME_PROVIDED, force=force,
                                 platform=None)
    openevent = OUT / "layers" / "openevent"
    _copy_core(openevent / "python" / "openevent")
    _compile(openevent / "python")
    manifest.layers = {"deps-core": str(core.relative_to(ROOT)),
                       "payments": str(payments.relative_to(ROOT)),
                       "openevent": str(openevent.relative_to(ROOT))}
    manifest.functions = {g: str(_group_zip(g).relative_to(ROOT)) for g in GROUPS}
    shutil.rmtree(OUT / "chalice", ignore_errors=True)
    manifest.renderer_context = str(_renderer_context(reqs["pdf"]).relative_to(ROOT))
    manifest.host_pdf = str(host_pdf.relative_to(ROOT))
    for fn in FUNCTIONS:
        manifest.sizes[fn.name] = unpacked_bytes(ROOT / manifest.functions[fn.group]) + sum(
            unpacked_bytes(ROOT / manifest.layers[layer]) for layer in fn.layers)
    (OUT / "manifest.json").write_text(json.dumps(asdict(manifest), indent=2))
    return manifest


def load_manifest() -> Manifest:
    return Manifest(**json.loads((OUT / "manifest.json").read_text()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild dependency layers")
    args = parser.parse_args(argv)
    manifest = build(force=args.force)
    for name, size in manifest.sizes.items():
        print(f"{name:18} {size / 1e6:6.1f} MB unpacked (code + layers)")
    print(f"renderer image context: {manifest.renderer_context}")


if __name__ == "__main__":
    main()
