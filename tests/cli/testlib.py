"""Helpers shared by the CLI test scripts (Debian's python3)."""
import hashlib


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
