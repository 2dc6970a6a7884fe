"""Atomic writes: permissions under the umask, the previous file kept, nothing half-written."""

import os
import stat

import pytest

from qdoem.io import atomic_write, atomic_write_text


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_get_the_permissions_of_open_under_the_umask(tmp_path, umask, mode):
    before = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "a.json", "{}")
        with open(tmp_path / "b.json", "w") as fh:  # what a plain open() gives
            fh.write("{}")
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == mode


def test_the_replaced_file_is_kept_as_previous(tmp_path):
    path, prev = tmp_path / "c.pt", tmp_path / "c.prev.pt"
    atomic_write(path, lambda fh: fh.write(b"one"), previous=prev)
    assert path.read_bytes() == b"one" and not prev.exists()
    atomic_write(path, lambda fh: fh.write(b"two"), previous=prev)
    assert (path.read_bytes(), prev.read_bytes()) == (b"two", b"one")
    atomic_write(path, lambda fh: fh.write(b"three"), previous=prev)
    assert (path.read_bytes(), prev.read_bytes()) == (b"three", b"two")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.prev.pt", "c.pt"]


def test_a_failing_writer_leaves_the_old_files_and_no_temporaries(tmp_path):
    path, prev = tmp_path / "c.pt", tmp_path / "c.prev.pt"
    atomic_write(path, lambda fh: fh.write(b"one"), previous=prev)
    atomic_write(path, lambda fh: fh.write(b"two"), previous=prev)

    def fails(fh):
        fh.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, fails, previous=prev)
    assert (path.read_bytes(), prev.read_bytes()) == (b"two", b"one")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.prev.pt", "c.pt"]
