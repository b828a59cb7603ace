"""Helpers shared by the CLI test scripts (Debian's python3)."""
import hashlib
import os
import shutil


def expect(cond, what):
    """Fails the test with `what` unless cond; prints it as passed otherwise."""
    if not cond:
        raise SystemExit("FAILED: " + what)
    print("ok:", what)


def text(v):
    """An HDF5 string attribute as str (h5py gives bytes for fixed-length strings)."""
    return v.decode() if isinstance(v, bytes) else v


def md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def fresh_workdir(work, config_text, name="sweep.toml"):
    """Empties `work`, writes `config_text` into it as `name`; returns that file's path."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(config_text)
    return path
