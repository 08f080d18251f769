"""bridge/files.py, the one way crossverify writes: a file or a folder appears whole or not at all."""
import os

import pytest

from crossverify.errors import CrossverifyError
from crossverify.files import replace_folder_atomically, write_atomically


def test_a_file_is_written_whole_with_text_bytes_or_a_writer(tmp_path):
    write_atomically(str(tmp_path / "a.txt"), "text")
    write_atomically(str(tmp_path / "b.bin"), b"\x00\x01")
    write_atomically(str(tmp_path / "c.bin"), lambda fh: fh.write(b"by the writer"))
    assert [(tmp_path / n).read_bytes() for n in ("a.txt", "b.bin", "c.bin")] == [b"text", b"\x00\x01", b"by the writer"]
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.bin", "c.bin"]


def test_a_writer_that_fails_halfway_leaves_the_old_file_and_no_temporary_one(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")

    def half(fh):
        fh.write(b"new but incomplete")
        raise OSError("disk full")

    with pytest.raises(CrossverifyError, match=r"cannot write .*keep.txt: disk full. Nothing was written; choose"):
        write_atomically(str(target), half)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["keep.txt"]


def test_a_folder_or_a_missing_parent_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(CrossverifyError, match="Is a directory. Nothing was written"):
        write_atomically(str(tmp_path), "x")
    with pytest.raises(CrossverifyError, match="does not exist. Create it or choose another --out"):
        write_atomically(str(tmp_path / "no" / "x.txt"), "x")
    assert os.listdir(tmp_path) == []


def test_a_folder_is_replaced_whole_and_a_failed_fill_keeps_the_old_one(tmp_path):
    target = tmp_path / "out"

    def fill(version):
        return lambda folder: open(os.path.join(folder, "page.html"), "w").write(version)

    replace_folder_atomically(str(target), fill("one"))
    replace_folder_atomically(str(target), fill("two"))
    assert (target / "page.html").read_text() == "two"

    def broken(folder):
        open(os.path.join(folder, "page.html"), "w").write("half")
        raise OSError("drawing failed")

    with pytest.raises(CrossverifyError, match="drawing failed. Nothing was written"):
        replace_folder_atomically(str(target), broken)
    assert (target / "page.html").read_text() == "two" and os.listdir(tmp_path) == ["out"]
