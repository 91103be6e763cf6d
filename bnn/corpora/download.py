"""Find a corpus on disk, or fetch, verify and extract its archive when it is absent.

The recipes take the corpus location as an option (``--corpus-dir``).  When that directory does
not hold the corpus, :func:`ensure_corpus` downloads the archive (``urllib``; ``file://`` URLs
work too, which is how the tests exercise this path without a network), checks it (optional
SHA-256, a readable gzip'ed tar whose members stay inside the target directory) and extracts it
under ``--download-dir``, then checks that the expected corpus directory is there.  A rerun
finds the extracted corpus complete and does nothing (icefall's ``prepare.sh`` habit).  With downloading disabled, or when the download fails, the error is one
line naming the option to pass.
"""
import hashlib
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from typing import Callable, Optional

from bnn.utils.errors import BnnError

logger = logging.getLogger(__name__)


def sha256sum(path: str) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(url: str, dest: str, sha256: Optional[str] = None) -> str:
    """Download ``url`` to ``dest`` (atomically: ``dest`` appears only when complete and verified).

    An existing ``dest`` with the right checksum (or any existing ``dest`` when ``sha256`` is None)
    is reused.  Raises :class:`BnnError` on network errors or a checksum mismatch.
    """
    if os.path.isfile(dest) and (sha256 is None or sha256sum(dest) == sha256):
        logger.info("reusing %s", dest)
        return dest
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(dest) + ".", suffix=".part",
                               dir=os.path.dirname(os.path.abspath(dest)))
    logger.info("downloading %s -> %s", url, dest)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
            shutil.copyfileobj(resp, out, 1 << 20)
        if sha256 is not None:
            got = sha256sum(tmp)
            if got != sha256:
                raise BnnError(f"{url}: checksum mismatch (sha256 {got}, expected {sha256})")
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise BnnError(f"{url}: download failed ({err})") from err
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def extract_tar(archive: str, dest_dir: str) -> None:
    """Extract a (gzip'ed) tar into ``dest_dir``; refuse members that would land outside it."""
    root = os.path.realpath(dest_dir)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for m in members:
                target = os.path.realpath(os.path.join(root, m.name))
                if not (target == root or target.startswith(root + os.sep)) or m.issym() or m.islnk():
                    raise BnnError(f"{archive}: unsafe archive member {m.name}")
            os.makedirs(root, exist_ok=True)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(root, members=members, filter="data")
            else:
                tar.extractall(root, members=members)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise BnnError(f"{archive}: not a readable tar archive ({err})") from err


def ensure_corpus(corpus_dir: str, *, name: str, url: str, download_dir: str,
                  extracted_subdir: str, is_complete: Callable[[str], bool],
                  download: bool = True, sha256: Optional[str] = None,
                  option: str = "--corpus-dir") -> str:
    """Return a directory holding the corpus.

    ``corpus_dir`` is used when ``is_complete(corpus_dir)``.  Otherwise, if ``download``, the
    archive at ``url`` is fetched into ``download_dir``, verified and extracted there, and
    ``download_dir/extracted_subdir`` is returned (after checking ``is_complete`` on it).
    Raises a one-line :class:`BnnError` naming ``option`` when that is impossible.
    """
    if corpus_dir and is_complete(corpus_dir):
        return corpus_dir
    target = os.path.join(download_dir, extracted_subdir)
    if is_complete(target):
        logger.info("%s corpus found in %s", name, target)
        return target
    if not download:
        raise BnnError(f"{corpus_dir}: {name} corpus not found and downloading is disabled; pass "
                       f"{option} DIR pointing at an extracted copy of {url}")
    archive = os.path.join(download_dir, os.path.basename(url.rstrip("/")))
    try:
        fetch(url, archive, sha256)
    except BnnError as err:
        raise BnnError(f"{corpus_dir}: {name} corpus not found and {err}; without network, pass "
                       f"{option} DIR pointing at an extracted copy of {url}") from err
    extract_tar(archive, download_dir)
    if not is_complete(target):
        raise BnnError(f"{archive}: extracted archive does not contain a complete {name} corpus "
                       f"at {target}")
    logger.info("%s corpus extracted to %s", name, target)
    return target
