"""What a non-editable install (the Dockerfile's `pip install .`) ships must be complete."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


# The checkout as the build sees it, without what tools write into it: other test processes
# write bytecode caches meanwhile, and a .pyc being replaced vanishes under a copy.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "build", "*.egg-info", "__pycache__", "*.pyc", ".*_cache"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    source = tmp_path_factory.mktemp("checkout") / "switchboard"
    out = tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(out), str(source)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (found,) = out.glob("switchboard-*.whl")
    return zipfile.ZipFile(found)


def test_packaging_wheel_ships_migrations_and_cogs(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    folder = ROOT / "bot/storage/migrations"
    migrations = sorted(str(p.relative_to(folder)) for p in folder.glob("*/*.sql"))
    assert {m.split("/")[0] for m in migrations} == {"sqlite", "postgresql"}
    for name in migrations:
        assert f"bot/storage/migrations/{name}" in names
    for extension in ("cogs/chat.py", "cogs/errors.py", "bot/__main__.py"):
        assert extension in names
    assert not any(n.startswith(("tests/", "bench/")) for n in names)


def test_packaging_console_script_points_at_main(wheel: zipfile.ZipFile) -> None:
    entry = next(n for n in wheel.namelist() if n.endswith("entry_points.txt"))
    assert "switchboard = bot.__main__:main" in wheel.read(entry).decode()


def test_packaging_dockerfile_uses_the_same_install_path() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir ." in dockerfile  # pyproject.toml, as make does
    assert "USER 10001" in dockerfile  # never root
    assert 'VOLUME ["/data"]' in dockerfile
    assert "DATABASE_PATH=/data/" in dockerfile
    for copied in ("bot", "cogs", "pyproject.toml"):
        assert copied in dockerfile
