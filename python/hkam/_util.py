"""Small helpers shared by the hkam package's readers."""


def text(v):
    """An HDF5 string attribute as str (h5py gives bytes for fixed-length strings)."""
    return v.decode() if isinstance(v, bytes) else v
