"""The package builds into a wheel offline with Debian's tools, and a fresh venv installs
it from that wheel — the way a user gets it with `pip install ./exporter/client/python`."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import PKG, missing


def test_wheel_builds_offline_and_installs_into_a_fresh_venv(tmp_path: Path) -> None:
    try:
        import build  # noqa: F401  (Debian's python3-build)
    except ImportError:
        missing("python3-build", "apt-get install python3-build python3-venv python3-setuptools python3-pip")
    src = tmp_path / "src"  # a copy: the build leaves build/ and *.egg-info next to the sources
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "tests", "examples"))
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(out), str(src)],
        check=True, capture_output=True,
    )
    wheels = list(out.glob("opscentre-*.whl"))
    assert len(wheels) == 1
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "opscentre/py.typed" in names and "opscentre/_client.py" in names
    venv = tmp_path / "venv"
    # Without its own pip (bootstrapping one takes ~10 s): Debian's python3-pip, seen through
    # the system site-packages, installs into the venv it runs in.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheels[0])],
        check=True, capture_output=True,
    )
    # From a neutral directory, so the source tree is not what gets imported.
    r = subprocess.run(
        [str(py), "-c", "import opscentre, sys; c = opscentre.Client('http://127.0.0.1:9', model='m'); "
         "print(opscentre.__file__); c.close(0)"],
        check=True, capture_output=True, text=True, cwd=tmp_path,
    )
    assert r.stdout.strip().startswith(str(venv)), r.stdout
