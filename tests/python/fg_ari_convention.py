"""FG-ARI of an image without foreground (issue 16): the reference's evaluation scores it 1.0
(sklearn's adjusted_rand_score of two empty labellings) and averages it in; with
evaluate.empty_foreground = "skip" it is NaN and left out of the mean.

usage: fg_ari_convention.py HKAM OUTDIR
"""
import math
import os
import subprocess
import sys

import h5py
import numpy as np

hkam, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(5)
S, B = 16, 3
images = rng.uniform(0, 1, (B, 3, S, S))
masks = np.zeros((B, S, S), np.int64)
masks[0, 2:8, 2:8], masks[0, 9:14, 3:12] = 1, 2  # two objects
masks[2, 4:12, 4:12] = 1                          # one object; image 1 has no foreground
inp = os.path.join(out, "scenes.h5")
with h5py.File(inp, "w") as f:
    f["images"], f["masks"] = images, masks

failures = []
results = {}
for rule in ("one", "skip"):
    cfg = os.path.join(out, f"fg_{rule}.toml")
    with open(cfg, "w") as c:
        c.write(f"""[network]
kind = "objects"
channels = 8
osc_dim = 4
imsize = {S}
psize = 2
connectivity = "conv"
kernel = 3
c_norm = "none"
steps = 2
[input]
kind = "file"
file = "scenes.h5"
[evaluate]
clusters = 3
features = "oscillators"
empty_foreground = "{rule}"
[record]
states = false
""")
    trace = os.path.join(out, f"fg_{rule}.h5")
    p = subprocess.run([hkam, "run", cfg, "-o", trace, "--force", "-q"], capture_output=True,
                       text=True)
    if p.returncode != 0:
        failures.append(f"{rule}: exit {p.returncode}: {p.stderr}")
        continue
    with h5py.File(trace, "r") as f:
        results[rule] = (f["output/fg_ari"][()], float(f["summary"].attrs["fg_ari"]))

if len(results) == 2:
    one, skip = results["one"], results["skip"]
    print("one :", one)
    print("skip:", skip)
    if one[0][1] != 1.0:
        failures.append(f"no foreground, rule one: FG-ARI {one[0][1]}, expected 1.0")
    if not math.isnan(skip[0][1]):
        failures.append(f"no foreground, rule skip: FG-ARI {skip[0][1]}, expected NaN")
    if not np.array_equal(one[0][[0, 2]], skip[0][[0, 2]]):
        failures.append("images with foreground must score the same under both rules")
    if abs(one[1] - np.mean(one[0])) > 1e-15:
        failures.append(f"rule one: mean {one[1]} is not the mean of all images {np.mean(one[0])}")
    if abs(skip[1] - np.mean(skip[0][[0, 2]])) > 1e-15:
        failures.append(f"rule skip: mean {skip[1]} is not the mean of images 0 and 2")
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
