"""scripts/setup.sh installs pycddlib last, alone, so that a machine without cddlib (no apt-get:
a Mac, Fedora) gets everything else: its lines that make the requirements without pycddlib,
run on the repository's own requirement files."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def requirements(path: Path) -> set[str]:
    """The project names a requirements file asks for, following ``-r`` (relative to it)."""
    names: set[str] = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            names |= requirements(path.parent / line[3:].strip())
        elif line:
            names.add(re.split(r"[\s<>=!~;\[]", line, maxsplit=1)[0].lower())
    return names


def test_everything_but_pycddlib_then_pycddlib(tmp_path):
    script = (ROOT / "scripts" / "setup.sh").read_text()
    block = re.search(r"# >>>[^\n]*\n(.*?)# <<<", script, re.S)
    assert block, "setup.sh lost its marked block"
    for name in ("requirements-app.txt", "requirements-dev.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / ".venv").mkdir()
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.group(1) + 'echo "$CDD"'],
                          cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    everything = requirements(ROOT / "requirements-dev.txt")
    assert "pycddlib" in everything
    without = requirements(tmp_path / ".venv" / "requirements-dev-nocdd.txt")
    assert without == everything - {"pycddlib"}, everything ^ without
    # pycddlib alone, with the version range the app's requirements give it
    wanted = [line for line in (ROOT / "requirements-app.txt").read_text().splitlines()
              if line.lower().startswith("pycddlib")]
    assert done.stdout.strip() == wanted[0].split("#")[0].strip(), done.stdout
