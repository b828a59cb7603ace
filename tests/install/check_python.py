"""The installed `hkam` package: usage check_python.py TRACE WITH_CORE (ON/OFF).

Reads the demo's trace with hkam.load_trace (no compiled core needed); with the core, rebuilds
its model with hkam.load_model and recomputes the first recorded energy bit for bit."""
import sys

import numpy as np

import hkam

path, with_core = sys.argv[1], sys.argv[2].upper() in ("ON", "1", "TRUE")
t = hkam.load_trace(path)
assert len(t.time) > 1, "the trace has no records"
print(f"hkam.load_trace: {len(t.time)} records, kind {t.kind}")
if with_core:
    m = hkam.load_model(path)
    z = np.concatenate([t.states("x", 0), t.states("sigma", 0).ravel()])
    e = m.energy(z)
    assert e == t.energy[0], f"energy {e!r} != trace {t.energy[0]!r}"
    print(f"hkam.load_model: first energy {e!r}, bit-identical to the trace")
