"""Shared pytest fixtures: the ``../shared`` directory beside the repo, the repo root, env."""
import os
import pathlib

# torch's OpenMP threads spin-wait and stall 10-20x on 2-core machines unless told to sleep.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parent.parent
SHARED = pathlib.Path(os.environ.get("BNN_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> pathlib.Path:
    """``../shared`` (real speech and Kaldi-written fixtures); tests skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not found: tests on real Kaldi fixtures and corpora need ../shared")
    return SHARED


@pytest.fixture(scope="session")
def bnn_env() -> dict:
    """Environment for subprocess calls: the venv's bin, utils/ and steps/ on PATH."""
    env = dict(os.environ)
    venv_bin = REPO / ".venv" / "bin"
    env["PATH"] = os.pathsep.join([str(venv_bin), str(REPO / "utils"), env.get("PATH", "")])
    env["LC_ALL"] = "C"
    env["PYTHONUNBUFFERED"] = "1"
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    return env
