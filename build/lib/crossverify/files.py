"""The one way crossverify writes a file: into a temporary file beside the target, renamed over it
when complete, so a reader (or a Ctrl-C) never sees half a file; and the one way it replaces a
folder (the report), likewise."""
import os
import shutil
import tempfile

from crossverify.errors import CrossverifyError

TMP_PREFIX = ".crossverify-"  # a temporary file's name starts so; a folder's reader skips them


def fsync_folder(folder):
    """Make a rename inside ``folder`` durable (where the system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomically(path, content, hint="choose another --out", error=CrossverifyError, make_folder=False):
    """Write ``content`` (str, bytes, or a callable given the open binary file) to ``path``.

    Errors name the path, say that nothing was written, and end with ``hint``.
    """
    folder = os.path.dirname(os.path.abspath(path))
    if make_folder:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise error(f"cannot create the folder {folder} for {path} ({exc.strerror}). Nothing was written; "
                        f"{hint}.") from None
    if not os.path.isdir(folder):
        raise error(f"cannot write {path}: the folder {folder} does not exist. Create it or {hint}.")
    if os.path.isdir(path):
        raise error(f"cannot write {path}: Is a directory. Nothing was written; {hint}.")
    if not os.access(folder, os.W_OK):
        raise error(f"cannot write {path}: the folder {folder} is not writable. Nothing was written; {hint}.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".tmp", dir=folder)
    except OSError as exc:
        raise error(f"cannot write {path}: the folder {folder} is not writable ({exc.strerror}). Nothing was "
                    f"written; {hint}.") from None
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; ours are ordinary files
        with os.fdopen(fd, "wb") as fh:
            if callable(content):
                content(fh)
            else:
                fh.write(content.encode("utf-8") if isinstance(content, str) else content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_folder(folder)
    except OSError as exc:
        raise error(f"cannot write {path}: {exc.strerror or exc}. Nothing was written; {hint}.") from None
    finally:  # also on Ctrl-C: no temporary file stays behind
        if os.path.exists(tmp):
            os.unlink(tmp)


def replace_folder_atomically(target, fill, error=CrossverifyError):
    """Build a folder with ``fill(tmp_folder)`` beside ``target``, then put it in ``target``'s place
    (an existing ``target`` is replaced whole only once the new one is complete)."""
    target = os.path.abspath(target)
    parent, name = os.path.split(target)
    tmp = tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=parent)
    old = None
    try:
        fill(tmp)
        os.chmod(tmp, 0o777 & ~_umask())
        if os.path.exists(target):
            old = tempfile.mkdtemp(prefix=f".{name}.", suffix=".old", dir=parent)
            os.rmdir(old)
            os.replace(target, old)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        if old is not None and not os.path.exists(target):
            os.replace(old, target)
            old = None
        raise error(f"cannot write {target}: {exc.strerror or exc}. Nothing was written.") from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
