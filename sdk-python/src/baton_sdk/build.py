"""``python -m baton_sdk.build PROJECT``: a Python bot project to its
component and its deployed files, with componentize-py.

The project's ``pyproject.toml`` says, under ``[tool.baton]``, which module
holds ``WitWorld = export_bot(...)`` (``app``) and the names the component
is deployed under (``deploy``). The contract is the SDK's own copy of the
WIT (``baton_sdk/wit``, the released ``baton:bot@0.1.0``) unless ``--wit``
names another. Everything generated goes under the output directory (by
default ``build/`` in the project):

- ``stage/``: what the component holds, copied from the sources (the bot's
  package, ``baton_sdk`` without its test host and this file) plus
  ``baton_build_info.py``, which tells ``describe()`` the componentize-py
  version. componentize-py generates the ``wit_world`` bindings itself,
  inside the component, from the WIT;
- ``<project>.wasm`` and ``bots/<deploy name>.wasm``, ready to copy into a
  bots directory beside the manifest.

It runs componentize-py from the environment it runs in (pinned by the
SDK's ``build`` extra) and prints what it made, with sizes and time.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parent
SDK_WIT = SDK_DIR / "wit"
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "testing", "build.py", "wit")


def read_project(project: Path) -> tuple[str, str, list[str]]:
    """The project's name, app module and deploy names."""
    with open(project / "pyproject.toml", "rb") as f:
        doc = tomllib.load(f)
    name = doc.get("project", {}).get("name") or project.name
    baton = doc.get("tool", {}).get("baton", {})
    app = baton.get("app")
    deploy = baton.get("deploy")
    if not isinstance(app, str) or not isinstance(deploy, list) or not deploy:
        raise SystemExit(f"{project}/pyproject.toml needs [tool.baton] app = \"module\" and deploy = [...]")
    return name, app, [str(d) for d in deploy]


def stage(project: Path, app: str, into: Path, componentize_version: str) -> None:
    """Lays out the component's Python sources in ``into``."""
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    shutil.copytree(SDK_DIR, into / "baton_sdk", ignore=_SKIP)
    top = app.split(".")[0]
    if (project / top).is_dir():
        shutil.copytree(project / top, into / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    elif (project / f"{top}.py").is_file():
        shutil.copy2(project / f"{top}.py", into / f"{top}.py")
    else:
        raise SystemExit(f"no package or module {top!r} in {project}")
    (into / "baton_build_info.py").write_text(
        '"""Written by baton_sdk.build: what built this component."""\n'
        f"COMPONENTIZE_PY_VERSION = {componentize_version!r}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m baton_sdk.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("project", type=Path, help="the bot project (a directory with pyproject.toml)")
    parser.add_argument("--wit", type=Path, help="the WIT directory (default: the SDK's own copy)")
    parser.add_argument("--out", type=Path, help="output directory (default: build/ in the project)")
    args = parser.parse_args(argv)

    project = args.project.resolve()
    name, app, deploy = read_project(project)
    wit = (args.wit or SDK_WIT).resolve()
    out = (args.out or project / "build").resolve()
    version = importlib.metadata.version("componentize-py")
    stage(project, app, out / "stage", version)

    wasm = out / f"{name}.wasm"
    bots = out / "bots"
    # A failed build must not leave the previous one's files looking current.
    if bots.exists():
        shutil.rmtree(bots)
    wasm.unlink(missing_ok=True)
    componentize = Path(sys.executable).parent / "componentize-py"
    if not componentize.exists():
        found = shutil.which("componentize-py")
        if found is None:
            raise SystemExit("componentize-py is not installed beside this Python or on the PATH "
                             "(`cargo xtask up` installs it under target/tools/python)")
        componentize = Path(found)
    command = [str(componentize), "-d", str(wit), "-w", "bot", "componentize", app,
               "-p", str(out / "stage"), "-o", str(wasm)]
    print("$", " ".join(command), flush=True)
    started = time.monotonic()
    subprocess.run(command, check=True)
    took = time.monotonic() - started

    bots.mkdir()
    for deployed in deploy:
        shutil.copy2(wasm, bots / f"{deployed}.wasm")
    size = wasm.stat().st_size
    print(f"{wasm} ({size} bytes, {size / 2**20:.1f} MiB) in {took:.1f} s with componentize-py {version}")
    for deployed in deploy:
        print(f"  -> {bots / deployed}.wasm")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
