#!/usr/bin/python3
"""Converts a PyTorch checkpoint of the reference AKOrN code into hkam's HDF5 weight format
(docs/akorn-weights.md).

usage: /usr/bin/python3 tools/export_akorn_weights.py CHECKPOINT OUT.h5 [--prefix P]
                                                       [--float64] [--force] [--list]

CHECKPOINT is what the reference saves with torch.save: a bare state_dict, or a dict holding
one under 'model_state_dict', 'state_dict' or 'model'. EMA checkpoints (ema_pytorch) keep the
averaged weights under the prefix 'ema_model.' (next to 'online_model.' and bookkeeping
entries): that prefix is taken by default when present, as the reference's evaluation does;
'module.' (DataParallel) and '_orig_mod.' (torch.compile) are stripped. --prefix chooses another
prefix. Every tensor becomes a dataset named by its key, float32 unless --float64; anything that
is not a tensor is left out and listed. The output is never overwritten without --force.

Needs Debian's python3-torch (`apt-get install python3-torch`) and python3-h5py.
"""

import argparse
import os
import sys


def fail(msg):
    print(f"export_akorn_weights: {msg}", file=sys.stderr)
    sys.exit(2)


def find_state_dict(obj):
    if isinstance(obj, dict):
        for key in ("model_state_dict", "state_dict", "model"):
            if key in obj and isinstance(obj[key], dict):
                return obj[key], key
    if isinstance(obj, dict):
        return obj, None
    if hasattr(obj, "state_dict"):
        return obj.state_dict(), "module.state_dict()"
    fail(f"no state_dict found (got a {type(obj).__name__})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("output", nargs="?")
    ap.add_argument("--prefix", default=None,
                    help="keep only keys with this prefix and strip it (default: 'ema_model.' "
                         "when present)")
    ap.add_argument("--float64", action="store_true", help="store float64 instead of float32")
    ap.add_argument("--force", action="store_true", help="replace an existing output")
    ap.add_argument("--list", action="store_true", help="list names and shapes, write nothing")
    a = ap.parse_args()
    try:
        import torch
    except ImportError:
        fail("needs PyTorch: apt-get install python3-torch (Debian), then run with /usr/bin/python3")
    import h5py
    import numpy as np

    if not os.path.exists(a.checkpoint):
        fail(f"{a.checkpoint}: no such file")
    try:
        ckpt = torch.load(a.checkpoint, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - report any unpickling problem plainly
        fail(f"{a.checkpoint}: cannot load with torch.load: {e}")
    sd, where = find_state_dict(ckpt)
    prefix = a.prefix
    if prefix is None and any(k.startswith("ema_model.") for k in sd):
        prefix = "ema_model."
    tensors, skipped = {}, []
    for key, value in sd.items():
        if prefix:
            if not key.startswith(prefix):
                continue
            key = key[len(prefix):]
        for strip in ("module.", "_orig_mod."):
            if key.startswith(strip):
                key = key[len(strip):]
        if not torch.is_tensor(value):
            skipped.append(key)
            continue
        tensors[key] = value.detach().cpu().double().numpy()
    if not tensors:
        fail(f"{a.checkpoint}: no tensors" + (f" with prefix '{prefix}'" if prefix else ""))
    print(f"{a.checkpoint}: {len(tensors)} tensors, "
          f"{sum(v.size for v in tensors.values())} values"
          + (f" (from '{where}')" if where else "") + (f", prefix '{prefix}'" if prefix else ""))
    if a.list or not a.output:
        for k, v in tensors.items():
            print(f"  {k} {list(v.shape)}")
        return
    if os.path.exists(a.output) and not a.force:
        fail(f"{a.output} exists (use --force)")
    tmp = a.output + ".partial"
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = "hkam-akorn-weights"
        f.attrs["format_version"] = 1
        f.attrs["source"] = os.path.abspath(a.checkpoint)
        for k, v in tensors.items():
            f.create_dataset(k, data=v.astype(np.float64 if a.float64 else np.float32))
    os.replace(tmp, a.output)
    if skipped:
        print(f"left out (not tensors): {', '.join(skipped)}")
    print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
