#!/usr/bin/env python3
"""Tests of the hkam package's analysis (python/hkam/analysis.py) on traces written by the test suite's end-to-end runs.

usage: test_analysis.py PYTHON_DIR TRACE_DIR OUT_DIR     (exit 0 when every check passes)
"""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, sys.argv[1])
from hkam import analysis as ha  # noqa: E402

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def main(trace_dir, out_dir):
    demo = os.path.join(trace_dir, "demo.h5")
    hop = os.path.join(trace_dir, "hopfield_retrieval.h5")
    lor = os.path.join(trace_dir, "kuramoto_lorentzian.h5")
    objs = os.path.join(trace_dir, "akorn_objects.h5")
    for path in (demo, hop, lor, objs):
        tr = ha.load(path)
        s = ha.summary(tr)
        with h5py.File(path, "r") as f:
            e = f["trace/energy"][()]
            stored_violations = int(f["audit/energy"].attrs["violations"])
            end = f["summary"].attrs["end_reason"]
            end = end.decode() if isinstance(end, bytes) else end
        check(s["records"] == len(e) and s["energy_last"] == e[-1] and s["energy_first"] == e[0],
              f"{path}: records and energies match the file")
        # The violations are recounted from the per-step table in Python: same count as the C++ audit.
        check(s["violations"] == stored_violations,
              f"{path}: {s['violations']} violations recounted == {stored_violations} stored")
        check(s["end_reason"] == end, f"{path}: end reason {s['end_reason']}")
        paths = ha.plot(tr, out_dir)
        import matplotlib.image as mpimg
        for p in paths:
            img = mpimg.imread(p)
            check(os.path.getsize(p) > 5000 and img.std() > 0.01,
                  f"{p}: {os.path.getsize(p)} bytes, pixel std {img.std():.3f}")
        expected = {"energy"}
        if "order_parameter" in tr.observables:
            expected |= {"order_parameter", "norm_drift", "oscillators"}
        if "overlap" in tr.observables:
            expected.add("overlaps")
        if tr.kind == "akorn_conv":
            expected.add("cluster_map")
        made = {os.path.splitext(os.path.basename(p))[0].split("_", 1 + os.path.basename(path).count("_"))[-1]
                for p in paths}
        check(expected <= made, f"{path}: figures {sorted(made)} include {sorted(expected)}")
    # the trace as one xarray Dataset: energies, states, observables and parts, as in the file
    ds = ha.to_xarray(demo)
    with h5py.File(demo, "r") as f:
        same = (np.array_equal(ds["energy"].values, f["trace/energy"][()]) and
                np.array_equal(ds["x"].values, f["trace/x"][()]) and
                np.array_equal(ds["sigma"].values, f["trace/sigma"][()]) and
                np.array_equal(ds["overlap"].values, f["trace/observables/overlap"][()]) and
                all(np.array_equal(ds[f"energy_part.{k}"].values, f["trace/energy_parts"][k][()])
                    for k in f["trace/energy_parts"]))
    check(same and ds["sigma"].dims == ("time", "oscillator", "component") and
          "config_resolved" in ds.attrs,
          f"to_xarray(demo): {sorted(ds.data_vars)} equal the file's datasets")
    s = ha.summary(ha.load(hop))
    check(s["overlap_max_last"] == 1.0 and s["overlap_argmax_last"] == 3,
          "hopfield retrieval: final overlap 1 with the cued pattern 3")
    s = ha.summary(ha.load(demo))
    check(s["violations"] == 0 and s["guaranteed"], "demo: guaranteed and no violation")
    s = ha.summary(ha.load(lor))
    check(not s["guaranteed"] and s["violations"] > 0,
          f"lorentzian: not guaranteed and {s['violations']} violations found")
    check(0.0 <= s["order_parameter_last"] <= 1.0, "order parameter in [0, 1]")
    # The cluster map's colours are the PCA of the states: positions of one final cluster share
    # a colour, so a k-means-perfect toy state must give exactly two colours.
    x = np.zeros((4, 6, 8))
    x[:, :3, 0], x[:, 3:, 1] = 1.0, 1.0
    rgb = ha.pca_rgb(x)
    check(len({tuple(np.round(c, 9)) for c in rgb.reshape(-1, 3)}) == 2,
          "pca_rgb: two states give two colours")
    states = ha.conv_states(ha.load(objs))
    with h5py.File(objs, "r") as f:
        a = f["model/akorn_conv"].attrs
        sig = f["trace/sigma"][-1]
        shape_ok = states.shape == (int(a["height"]), int(a["width"]), int(a["channels"]))
    check(shape_ok and np.allclose(states.reshape(-1), sig.reshape(-1)),
          f"conv_states: H x W x C {states.shape}, the trace's last sigma")
    # Wilson intervals (the capacity curve's error bars), against values worked by hand.
    lo, hi = ha.wilson_interval(5, 5)
    check(abs(lo - 0.56551) < 1e-4 and hi == 1.0, f"wilson 5/5: [{lo:.5f}, {hi}] = [0.56551, 1]")
    lo, hi = ha.wilson_interval(0, 5)
    check(lo == 0.0 and abs(hi - 0.43449) < 1e-4, f"wilson 0/5: [{lo}, {hi:.5f}] = [0, 0.43449]")
    lo, hi = ha.wilson_interval(50, 100)
    check(abs(lo - 0.40383) < 1e-4 and abs(hi - 0.59617) < 1e-4,
          f"wilson 50/100: [{lo:.5f}, {hi:.5f}] = [0.40383, 0.59617]")
    runs = ha.load_folder(trace_dir)
    check(len(runs) >= 3, f"load_folder finds {len(runs)} traces")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[2], sys.argv[3]))
