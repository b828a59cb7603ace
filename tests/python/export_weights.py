"""tools/export_akorn_weights.py: a reference-style EMA checkpoint (torch.save of
{'model_state_dict': {'ema_model.<key>': tensor, 'online_model.<key>': ..., 'step': ...}})
converts into a weight file that hkam runs with, giving the network of the original trace.

usage: export_weights.py HKAM TOOLS_DIR OUT_DIR
Exit 77 (reported by CTest as skipped, with the reason printed) when python3-torch is absent.
"""

import os
import subprocess
import sys

import h5py
import numpy as np

HKAM, TOOLS, OUT = sys.argv[1:4]
try:
    import torch
except ImportError:
    print("SKIPPED: python3-torch is not installed (apt-get install python3-torch)")
    sys.exit(77)

os.makedirs(OUT, exist_ok=True)
net = """
[network]
kind = "sudoku"
channels = 16
heads = 2
steps = 4
[input]
batch = 2
"""


def run(name, extra, expect=0, weights=None, boards=None):
    cfg = os.path.join(OUT, name + ".toml")
    out = os.path.join(OUT, name + ".h5")
    text = net
    if weights:
        text = text.replace("[network]\n", f'[network]\nweights = "{weights}"\n')
    if boards:
        text = text.replace("[input]\nbatch = 2\n", f'[input]\nkind = "file"\nfile = "{boards}"\n')
    with open(cfg, "w") as f:
        f.write(f'output = "{out}"\nseed = 4\n' + text + extra)
    p = subprocess.run([HKAM, "run", cfg, "--force", "--quiet"], capture_output=True, text=True)
    if p.returncode != expect:
        sys.exit(f"{name}: exit {p.returncode}\n{p.stdout}{p.stderr}")
    return out


src = run("source", "[record]\nweights = true\n")
with h5py.File(src, "r") as f:
    sd = {k: torch.tensor(v[()]) for k, v in f["weights"].items()}
    noise = f["initial/noise"][()]
    boards = f["input/boards"][()]
    logits = f["output/logits"][()]
ckpt = {"model_state_dict": {**{"ema_model." + k: v for k, v in sd.items()},
                             **{"online_model." + k: v * 0 for k, v in sd.items()},
                             "initted": torch.tensor(True), "step": torch.tensor(100)},
        "epoch": 3}
pth = os.path.join(OUT, "ema.pth")
torch.save(ckpt, pth)
wfile = os.path.join(OUT, "weights.h5")
if os.path.exists(wfile):
    os.remove(wfile)
tool = [sys.executable, os.path.join(TOOLS, "export_akorn_weights.py")]
p = subprocess.run(tool + [pth, wfile], capture_output=True, text=True)
print(p.stdout + p.stderr)
assert p.returncode == 0
p = subprocess.run(tool + [pth, wfile], capture_output=True, text=True)
assert p.returncode == 2 and "exists (use --force)" in p.stderr, p.stderr
with h5py.File(wfile, "r") as w:
    assert set(w.keys()) == set(sd.keys()), "exported names differ from the state_dict's"
    assert w["embedding.weight"].dtype == np.float32
with h5py.File(os.path.join(OUT, "noise.h5"), "w") as f:
    f["noise"] = noise
with h5py.File(os.path.join(OUT, "boards.h5"), "w") as f:
    f["boards"] = boards
# the same network from the exported file, on the stored boards and noise
out = run("from_export", f"""
[initial]
noise_file = "{os.path.join(OUT, 'noise.h5')}"
""", weights=wfile, boards=os.path.join(OUT, "boards.h5"))
with h5py.File(out, "r") as f:
    got = f["output/logits"][()]
err = np.max(np.abs(got - logits)) / np.max(np.abs(logits))
print(f"logits from the exported float32 weights vs the original run: rel. error {err:.2e}")
assert err < 1e-5, err
print("export round trip passed")

# hkam's bicubic resize of the up-tiling evaluation against torch's F.interpolate(bicubic)
import torch.nn.functional as F  # noqa: E402

up = os.path.join(OUT, "uptile.toml")
with open(up, "w") as f:
    f.write(f'''output = "{os.path.join(OUT, 'uptile.h5')}"
[network]
kind = "objects"
channels = 8
imsize = 16
psize = 4
connectivity = "conv"
steps = 1
[input]
batch = 2
pixel_noise = 0.2
[evaluate]
clusters = 3
uptile = 4
[record]
states = false
''')
p = subprocess.run([HKAM, "run", up, "--force", "--quiet"], capture_output=True, text=True)
assert p.returncode == 0, p.stderr
with h5py.File(os.path.join(OUT, "uptile.h5"), "r") as f:
    images, big = f["input/images"][()], f["output/uptiled_images"][()]
want = F.interpolate(torch.tensor(images), (big.shape[2], big.shape[3]), mode="bicubic").numpy()
err = np.max(np.abs(big - want))
print(f"bicubic resize {images.shape[2]} -> {big.shape[2]} vs torch: max abs diff {err:.2e}")
assert err < 1e-5, err

# The numpy reference's bilinear resize (akorn_reference.bilinear: autorescale and
# rescale_gta_mat, which the parity cases check hkam against) against torch's F.interpolate.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import akorn_reference as ref  # noqa: E402

rng = np.random.default_rng(5)
worst = 0.0
for h, w, oh, ow in [(6, 6, 8, 8), (6, 6, 5, 5), (12, 12, 16, 16), (16, 16, 12, 12), (5, 7, 11, 3)]:
    a = rng.standard_normal((2, 3, h, w))
    want = F.interpolate(torch.tensor(a), (oh, ow), mode="bilinear").numpy()
    worst = max(worst, float(np.max(np.abs(ref.bilinear(a, oh, ow) - want))))
print(f"numpy reference bilinear vs torch: max abs diff {worst:.2e}")
assert worst < 1e-12, worst

# hkam's label upsampling against torch's nn.Upsample(scale_factor = S/h, mode="nearest"), as the
# reference's evaluation calls it: with one cluster per cell (k = h²) the pixel labels partition
# the image exactly as torch's source-cell map does.
for name, extra, h, S in [("nearest13", "imsize = 13\n", 6, 13),
                          ("nearest16", "imsize = 12\ninput_size = 16\nautorescale = true\n", 6, 16),
                          ("nearest9", "imsize = 18\ninput_size = 9\nautorescale = true\n", 9, 9),
                          ("nearest14", "imsize = 14\npsize = 4\n", 3, 14),
                          # torch's float 1/scale puts row 41 in cell 1, the exact ratio in 2
                          ("nearest82", "imsize = 82\npsize = 20\n", 4, 82)]:
    cfg = os.path.join(OUT, name + ".toml")
    with open(cfg, "w") as f:
        f.write(f'output = "{os.path.join(OUT, name + ".h5")}"\n[network]\nkind = "objects"\n'
                f'channels = 8\nconnectivity = "conv"\nsteps = 1\n'
                + ("" if "psize" in extra else "psize = 2\n") + extra +
                f'[input]\nbatch = 1\npixel_noise = 0.3\n[evaluate]\nclusters = {h * h}\n'
                f'features = "stimulus"\n[record]\nstates = false\n')
    p = subprocess.run([HKAM, "run", cfg, "--force", "--quiet"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    with h5py.File(os.path.join(OUT, name + ".h5"), "r") as f:
        labels = f["output/labels"][0]
    cells = torch.arange(h * h, dtype=torch.float32).reshape(1, 1, h, h)
    src = torch.nn.Upsample(scale_factor=(S / h, S / h), mode="nearest")(cells)[0, 0].long().numpy()
    assert labels.shape == src.shape == (S, S), (labels.shape, src.shape)
    # the same partition: a bijection between hkam's labels and torch's cells
    pairs = set(zip(labels.ravel().tolist(), src.ravel().tolist()))
    assert len(pairs) == len(set(labels.ravel().tolist())) == len(set(src.ravel().tolist())) \
        == h * h, f"{name}: hkam's label map differs from torch's nearest upsampling"
    print(f"nearest upsampling {h} -> {S}: hkam's labels partition the image as torch's map")
print("resizing checks against torch passed")
