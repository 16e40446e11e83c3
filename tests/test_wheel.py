"""The wheel carries everything: built from the source, installed into a fresh virtual
environment outside the repository, it makes a room and runs it there — `init`, `validate`
of every profile, `rehearse --journal`, `serve` with a page fetched, `log backup` and
`log verify` — importing nothing from the checkout.

No download: the wheel is built by this environment's own setuptools (no build isolation)
and installed without its dependencies, which the new environment reaches through a .pth
naming this environment's site-packages (only its paths: no editable install of the
checkout comes along, as a .pth found there is not run)."""

from __future__ import annotations

import shutil
import signal
import site
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest

from setandsetting.room.skeleton import example_files
from tests.support.demo_music import link_demo_music
from tests.support.processes import ENV, spawned, wait_served

REPO = Path(__file__).resolve().parents[1]


def _run(*argv: str | Path, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{argv}: {done.stdout}{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """(the new environment's bin folder, the environment variables to run it with)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    shutil.copytree(
        REPO / "setandsetting", src / "setandsetting", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    env = {k: v for k, v in ENV.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    _run(
        *pip,
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "-w",
        tmp / "dist",
        src,
        cwd=tmp,
        env=env,
    )
    (wheel,) = (tmp / "dist").glob("setandsetting-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in example_files():
        assert f"setandsetting/example_room/{rel}" in names
    assert "setandsetting/server/templates/live.html" in names
    assert "setandsetting/server/static/room.css" in names
    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp, env=env)
    python = venv / "bin" / "python"
    purelib = _run(
        python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp, env=env
    )
    Path(purelib.strip(), "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run(
        *pip,
        "--python",
        python,
        "install",
        "--no-deps",
        "--no-index",
        "--no-compile",
        wheel,
        cwd=tmp,
        env=env,
    )
    where = _run(
        python, "-c", "import setandsetting; print(setandsetting.__file__)", cwd=tmp, env=env
    )
    assert Path(where.strip()).is_relative_to(venv), where
    return venv / "bin", env


@pytest.mark.slow
def test_the_installed_package_makes_a_room_and_runs_it(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    bin_dir, env = installed
    sas = bin_dir / "setandsetting"
    room = tmp_path / "room"
    out = _run(sas, "init", room, cwd=tmp_path, env=env)
    assert out.startswith(f"made the room in {room}: {len(example_files())} files written\n")
    link_demo_music(room)
    profiles = sorted(p.name for p in (room / "profiles").glob("*.yaml"))
    assert len(profiles) == 6
    out = _run(sas, "validate", ".", "--patient", "P-0042", cwd=room, env=env)
    assert out == f"{len(example_files()) - 1} files OK\n"  # all but .gitignore
    out = _run(sas, "rehearse", "demo", "--patient", "P-0042", "--journal", cwd=room, env=env)
    assert "journaled as session " in out
    with spawned(tmp_path / "logs") as started:
        serve = started.spawn([str(sas), "--room", str(room), "serve", "--port", "0"], env)
        url = wait_served(room, serve)
        with urllib.request.urlopen(url + "/review", timeout=5) as page:
            assert page.status == 200 and "Demo, six minutes" in page.read().decode()
        serve.popen.send_signal(signal.SIGTERM)
        assert serve.wait() == 0
    assert f"serving {url}/" in serve.stdout()
    out = _run(sas, "log", "backup", tmp_path / "copy.db", cwd=room, env=env)
    assert out.startswith(f"backed up sessions.db to {tmp_path / 'copy.db'} (1 session, ")
    out = _run(sas, "log", "verify", tmp_path / "copy.db", cwd=room, env=env)
    assert out.startswith(f"{tmp_path / 'copy.db'}: sound — integrity ok, 1 session, ")
