"""hkam's AKOrN networks against the independent numpy reference (akorn_reference.py).

usage: akorn_network.py HKAM OUT_DIR

Every case is an `hkam run` of a small network with random weights (stored in the trace with
record.weights); the reference recomputes the whole forward pass from the trace's weights,
inputs and initial noise, and must agree on every recorded state, both energies per step, the
outputs and the head: 1e-10 relative (to the largest magnitude) in float64, 1e-5 in float32.
Then: a weight file round trip (the same run from a weight file and the stored noise is
identical), shape errors naming the parameter, and the evaluation metrics of the trace
recomputed.
"""

import os
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import akorn_reference as ref  # noqa: E402

HKAM, OUT = sys.argv[1], sys.argv[2]
os.makedirs(OUT, exist_ok=True)
failures = []
errors = {}  # (case, what) -> relative error, for tolerances derived from the float64 run


def run(name, toml, expect=0):
    cfg = os.path.join(OUT, name + ".toml")
    out = os.path.join(OUT, name + ".h5")
    with open(cfg, "w") as f:
        f.write(f'output = "{out}"\nseed = 7\n' + toml)
    p = subprocess.run([HKAM, "run", cfg, "--force", "--quiet"], capture_output=True, text=True)
    if p.returncode != expect:
        raise SystemExit(f"{name}: exit {p.returncode}, expected {expect}\n{p.stdout}{p.stderr}")
    return out, p


def weights(f):
    return {k: np.array(v, dtype=np.float64) for k, v in f["weights"].items()}


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return np.inf
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def check(name, what, got, want, tol):
    e = rel(got, want)
    errors[(name, what)] = e
    status = "ok" if e <= tol else "FAIL"
    print(f"  {name:28s} {what:22s} rel. error {e:.2e} (tol {tol:g}) {status}")
    if not e <= tol:
        failures.append(f"{name}: {what} {e:.3g} > {tol:g}")


def compare_layers(name, f, layers, tol):
    for l, (xs, es, en) in enumerate(layers):
        g = f[f"layers/{l}"]
        check(name, f"block {l} proxy energy", g["proxy_energy"][()], es.T, tol)
        check(name, f"block {l} true energy", g["energy"][()], en.T, tol)
        steps = g["state_steps"][()]
        check(name, f"block {l} states", g["states"][()], np.stack([xs[t] for t in steps]), tol)


OBJECT_CASES = {
    # name: (network table, precision)
    "attn_gta_gn_quirk_L2": 'connectivity = "attn"\nheads = 4\nblocks = 2\nsteps = [3, 2]\n',
    "attn_nogta_sandb_omega": 'connectivity = "attn"\nheads = 2\ngta = false\nc_norm = "sandb"\n'
                              'use_omega = true\ninit_omega = 0.7\nmaxpool = false\n',
    "conv3_none_globalomega_noproj": 'connectivity = "conv"\nkernel = 3\nc_norm = "none"\n'
                                     'use_omega = true\nglobal_omega = true\nproject = false\n',
    "conv5_gn_gamma": 'connectivity = "conv"\nkernel = 5\ngamma = 0.3\n',
    # the reference adds learned pemb_x/pemb_c whenever gta = false, a conv J included
    "conv3_nogta_pemb": 'connectivity = "conv"\nkernel = 3\ngta = false\nc_norm = "none"\n',
    # J per block, and the reference's ablations no_ro (c = x) and use_ro_x (Conv1x1 on x)
    "mixedJ_ro_x_L2": 'connectivity = ["conv", "attn"]\nkernel = 3\nheads = 2\nblocks = 2\n'
                      'steps = [2, 3]\nuse_ro_x = true\n',
    "attn_no_ro_L2": 'connectivity = "attn"\nheads = 2\nblocks = 2\nsteps = [2, 2]\nno_ro = true\n',
    # imsize not a multiple of psize: the strided patch conv drops the last row and column
    # (6 x 6 grid), the labels are upsampled 6 -> 13 as nn.Upsample(scale_factor=13/6) does
    "conv3_imsize13": 'connectivity = "conv"\nkernel = 3\nimsize = 13\n',
    # images of another side than imsize: without autorescale the grid follows the input and the
    # GTA matrices made for the 6 x 6 grid are resized bilinearly (rescale_gta_mat) to 8 x 8 / 5 x 5
    "attn_gta_input16": 'connectivity = "attn"\nheads = 2\ninput_size = 16\n',
    "attn_gta_input10_L2": 'connectivity = "attn"\nheads = 2\ninput_size = 10\nblocks = 2\n'
                           'steps = [2, 2]\n',
    # with autorescale the images are resized bilinearly to imsize first
    "attn_gta_autorescale16": 'connectivity = "attn"\nheads = 2\ninput_size = 16\n'
                              'autorescale = true\n',
    "conv3_nogta_autorescale9": 'connectivity = "conv"\nkernel = 3\ngta = false\n'
                                'input_size = 9\nautorescale = true\n',
}


def object_case(name, table, precision):
    tol = 1e-10 if precision == "float64" else 1e-5
    out, _ = run(f"obj_{name}_{precision}", f"""
[network]
kind = "objects"
precision = "{precision}"
channels = 16
osc_dim = 4
{"" if "imsize" in table else "imsize = 12"}
psize = 2
{"" if "steps" in table else "steps = 3"}
{table}
[input]
batch = 2
[evaluate]
clusters = 3
[record]
weights = true
""")
    with h5py.File(out, "r") as f:
        W = weights(f)
        blocks = len(f["layers"])
        T = [int(f[f"layers/{l}"].attrs["steps"]) for l in range(blocks)]
        cfg = dict(n=4, psize=2, L=blocks, T=T,
                   J=["conv", "attn"] if "mixedJ" in name else "conv" if "conv" in name else "attn",
                   no_ro="no_ro = true" in table, use_ro_x="use_ro_x = true" in table,
                   kernel=5 if "conv5" in name else 3,
                   heads=int(table.split("heads = ")[1].split()[0]) if "heads" in table else 8,
                   gta="gta = false" not in table,
                   c_norm="sandb" if "sandb" in table else "none" if '"none"' in table else "gn",
                   use_omega="use_omega = true" in table,
                   global_omg="global_omega = true" in table,
                   project="project = false" not in table,
                   maxpool="maxpool = false" not in table,
                   imsize=13 if "imsize = 13" in table else 12,
                   autorescale="autorescale = true" in table)
        c, x, layers, head = ref.object_net(f["input/images"][()], f["initial/noise"][()], W, cfg)
        name = f"{name} {precision}"
        compare_layers(name, f, layers, tol)
        check(name, "readout features", f["output/features"][()], c, tol)
        check(name, "final states", f["output/x"][()], x, tol)
        check(name, "pooled MLP head", f["output/head"][()], head, tol)
        side = int(table.split("input_size = ")[1].split()[0]) if "input_size" in table \
            else cfg["imsize"]
        if f["output/labels"].shape != (2, side, side):
            failures.append(f"{name}: labels {f['output/labels'].shape}, expected the input side")


def sudoku_case(precision, votes, nl=True):
    tol = 1e-10 if precision == "float64" else 1e-5
    out, _ = run(f"sudoku_{precision}{'' if nl else '_nonl'}", f"""
[network]
kind = "sudoku"
precision = "{precision}"
channels = 32
heads = 4
steps = 3
init_omega = 0.4
nl = {"true" if nl else "false"}
[input]
batch = 2
blanks = 30
[evaluate]
votes = {votes}
vote_score = "sum"
[record]
weights = true
""")
    with h5py.File(out, "r") as f:
        W = weights(f)
        boards = f["input/boards"][()]
        chains = np.repeat(boards, votes, axis=0)
        cfg = dict(n=4, L=1, J="attn", heads=4, gta=True, c_norm="none", use_omega=True,
                   global_omg=True, project=True, nl=nl)
        logits, layers = ref.sudoku_net(chains, f["initial/noise"][()], W, cfg, 3)
        name = f"sudoku {precision}{'' if nl else ' nl=false'}"
        if not nl and any(k.startswith("layers.0.1.1.") for k in W):
            failures.append(f"{name}: the weights hold the FF block that nl = false leaves out")
        compare_layers(name, f, layers, tol)
        check(name, "logits", f["output/logits"][()], logits, tol)
        # E-vote: the chain with the lowest summed logged energy of the last block
        es = layers[-1][1].T.reshape(len(boards), votes, -1).sum(-1)
        choice = es.argmin(1)
        pred = logits.argmax(-1) + 1
        want = np.stack([pred[b * votes + choice[b]] for b in range(len(boards))])
        if not (np.array_equal(f["output/vote_choice"][()], choice)
                and np.array_equal(f["output/prediction"][()], want)):
            failures.append(f"{name}: E-vote choice or prediction differs")
        print(f"  {name:28s} E-vote choices {list(choice)} "
              f"{'ok' if np.array_equal(f['output/vote_choice'][()], choice) else 'FAIL'}")
        # the generated puzzles are valid Sudoku solutions with the givens kept
        sol = f["input/solutions"][()]
        for s in sol:
            for grp in list(s) + list(s.T) + [s[r:r + 3, c:c + 3].ravel()
                                              for r in (0, 3, 6) for c in (0, 3, 6)]:
                if sorted(grp) != list(range(1, 10)):
                    failures.append("a generated solution is not a valid Sudoku")
        if not np.all((boards == 0) | (boards == sol)) or (boards == 0).sum() != 2 * 30:
            failures.append("generated boards do not keep the givens / blank count")


def cifar_case(precision, norm):
    """Random weights with non-trivial BatchNorm/GroupNorm statistics (written to a weight file),
    an ensemble of 2 noise draws per image, three blocks of growing width and falling size."""
    tol = 1e-10 if precision == "float64" else 1e-5
    table = f"""
[network]
kind = "cifar"
precision = "{precision}"
channels = 8
blocks = 3
kernels = [5, 3, 3]
norm = "{norm}"
steps = 2
[input]
batch = 2
[evaluate]
ensemble = 2
[record]
weights = true
"""
    first, _ = run(f"cifar_{norm}_{precision}_init", table)
    rng = np.random.default_rng(5)
    wfile = os.path.join(OUT, f"cifar_{norm}_{precision}_w.h5")
    with h5py.File(first, "r") as f, h5py.File(wfile, "w") as w:
        for k, v in f["weights"].items():
            a = v[()]
            if any(t in k for t in ("fn.0.weight", "fn.0.bias", "running_mean", "c_norm")):
                a = a + 0.3 * rng.standard_normal(a.shape)
            if "running_var" in k:
                a = a * rng.uniform(0.5, 2.0, a.shape)
            w[k] = a
        with h5py.File(os.path.join(OUT, "cifar_noise.h5"), "w") as nz:
            nz["noise"] = f["initial/noise"][()]
    out, _ = run(f"cifar_{norm}_{precision}", table.replace(
        "[network]\n", f'[network]\nweights = "{wfile}"\n') + f"""
[initial]
noise_file = "{os.path.join(OUT, 'cifar_noise.h5')}"
""")
    with h5py.File(out, "r") as f:
        W = weights(f)
        images = np.repeat(f["input/images"][()], 2, axis=0)
        cfg = dict(n=2, L=3, T=2, kernels=[5, 3, 3], ro_kernel=3, ro_group=2, norm=norm,
                   c_norm="gn", use_omega=True, global_omg=True, project=True)
        logits, layers = ref.cifar_net(images, f["initial/noise"][()], W, cfg)
        name = f"cifar {norm} {precision}"
        # The strided conv between blocks maps unit oscillators (n = 2) to vectors that can be
        # nearly 0, and normalising them amplifies rounding (float64 states agree to ~5e-13
        # while everything else agrees to ~1e-15). The float32 case has the same weights, inputs
        # and noise, so its states are held to 4 × (that float64 amplification) × float32's
        # epsilon (at least 1e-5); energies and logits keep the plain 1e-5.
        if precision == "float32":
            for l in range(3):
                e64 = errors.get((f"cifar {norm} float64", f"block {l} states"), 0.0)
                amp = e64 / np.finfo(np.float64).eps
                st = max(tol, 4 * amp * np.finfo(np.float32).eps)
                print(f"  {name:28s} block {l}: float64 amplification {amp:.0f}, state tolerance "
                      f"{st:.2g}")
                g = f[f"layers/{l}"]
                xs, es, en = layers[l]
                check(name, f"block {l} proxy energy", g["proxy_energy"][()], es.T, tol)
                check(name, f"block {l} true energy", g["energy"][()], en.T, tol)
                steps = g["state_steps"][()]
                check(name, f"block {l} states", g["states"][()],
                      np.stack([xs[t] for t in steps]), st)
        else:
            compare_layers(name, f, layers, tol)
        check(name, "logits per noise draw", f["output/chain_logits"][()], logits, tol)
        check(name, "ensemble logits", f["output/logits"][()],
              logits.reshape(2, 2, -1).mean(1), tol)


def cifar_mixed_case():
    """Per-block settings the reference's CIFAR model accepts: J per block (attention with its
    KLayer defaults, 8 heads, no GTA), n and ro_N per block, and a kernel list of another length
    than L (the reference then uses its first size for every block)."""
    out, _ = run("cifar_mixed_float64", """
[network]
kind = "cifar"
precision = "float64"
channels = 8
blocks = 3
connectivity = ["conv", "attn", "attn"]
osc_dim = [2, 4, 4]
ro_group = [2, 4, 2]
kernels = [5, 3]
norm = "gn"
steps = 2
[input]
batch = 2
[record]
weights = true
""")
    with h5py.File(out, "r") as f:
        W = weights(f)
        cfg = dict(n=2, L=3, T=2, kernels=[5, 5, 5], ro_kernel=3, ro_group=2, norm="gn",
                   c_norm="gn", use_omega=True, global_omg=True, project=True,
                   Js=["conv", "attn", "attn"], ns=[2, 4, 4], ro_groups=[2, 4, 2])
        if "layers.1.2.connectivity.W_qkv.weight" not in W or "layers.0.2.connectivity.weight" \
                not in W:
            failures.append("cifar mixed: the weights are not those of a conv and attention blocks")
        logits, layers = ref.cifar_net(f["input/images"][()], f["initial/noise"][()], W, cfg)
        name = "cifar mixed J/n float64"
        compare_layers(name, f, layers, 1e-10)
        check(name, "logits", f["output/logits"][()], logits, 1e-10)


def uptile_case():
    """Up-tiling (the reference's saccade_r = 2): the stored bicubic-resized image is cropped at
    the r² offsets, each crop runs through the reference, and the interleaved feature maps must
    equal hkam's dense grid."""
    out, _ = run("uptile", """
[network]
kind = "objects"
precision = "float64"
channels = 16
imsize = 12
psize = 2
connectivity = "conv"
kernel = 3
steps = 3
[input]
batch = 2
[evaluate]
clusters = 3
uptile = 2
[record]
weights = true
""")
    with h5py.File(out, "r") as f:
        W = weights(f)
        big = f["output/uptiled_images"][()]
        S, ps, r = 12, 2, 2
        step = ps // r
        crops = np.stack([big[b, :, hi * step:hi * step + S, wi * step:wi * step + S]
                          for b in range(2) for hi in range(r) for wi in range(r)])
        cfg = dict(n=4, psize=2, L=1, T=[3], J="conv", kernel=3, heads=8, gta=True, c_norm="gn",
                   use_omega=False, global_omg=False, project=True)
        c, _, _, _ = ref.object_net(crops, f["output/uptile_noise"][()], W, cfg)
        h = S // ps
        dense = np.zeros((2, c.shape[1], h * r, h * r))
        for b in range(2):
            for hi in range(r):
                for wi in range(r):
                    dense[b, :, hi::r, wi::r] = c[(b * r + hi) * r + wi]
        check("uptile r = 2", "interleaved features", f["output/uptiled_features"][()], dense,
              1e-10)
        if f["output/labels"].shape != (2, S, S):
            failures.append("up-tiled labels have the wrong shape")


uptile_case()


def refused(name, table, needles):
    """A configuration the reference cannot run either: exit 2 before anything is written."""
    _, p = run(name, table, expect=2)
    if os.path.exists(os.path.join(OUT, name + ".h5")):
        failures.append(f"{name}: a refused run wrote its output")
    for needle in needles:
        if needle not in p.stderr:
            failures.append(f"{name}: the error does not say '{needle}':\n{p.stderr}")
    print(f"  refused {name}: {p.stderr.strip().splitlines()[-1][:150]}")


refused("nogta_input16", """
[network]
kind = "objects"
channels = 16
imsize = 12
psize = 2
connectivity = "conv"
gta = false
input_size = 16
""", ["input_size", "positional embeddings", "autorescale"])
# nn.Upsample(scale_factor = 15/11) of the 11 x 11 label map gives 14 x 14 for the 15 x 15 image
refused("upsample_mismatch", """
[network]
kind = "objects"
channels = 16
imsize = 22
psize = 2
connectivity = "conv"
input_size = 15
autorescale = true
[evaluate]
clusters = 3
""", ["clusters", "11x11 label map", "14x14"])
for precision in ("float64", "float32"):
    for name, table in OBJECT_CASES.items():
        object_case(name, table, precision)
    sudoku_case(precision, 3 if precision == "float64" else 1)
    sudoku_case(precision, 1, nl=False)
    cifar_case(precision, "bn")
cifar_case("float64", "gn")
cifar_mixed_case()

# ---- weight file round trip: the stored weights and noise reproduce the run exactly
print("weight file round trip")
src = os.path.join(OUT, "obj_attn_gta_gn_quirk_L2_float64.h5")
wfile = os.path.join(OUT, "weights.h5")
nfile = os.path.join(OUT, "noise.h5")
with h5py.File(src, "r") as f, h5py.File(wfile, "w") as w, h5py.File(nfile, "w") as nz:
    for k, v in f["weights"].items():
        w[k] = v[()].astype(np.float32)
    nz["noise"] = f["initial/noise"][()]
    images = f["input/images"][()]
base = """
[network]
kind = "objects"
precision = "float64"
channels = 16
osc_dim = 4
imsize = 12
psize = 2
connectivity = "attn"
heads = 4
blocks = 2
steps = [3, 2]
weights = "{w}"
[initial]
noise_file = "{n}"
[input]
kind = "file"
file = "{i}"
"""
ifile = os.path.join(OUT, "images.h5")
with h5py.File(ifile, "w") as f:
    f["images"] = images
out, _ = run("roundtrip", base.format(w=wfile, n=nfile, i=ifile))
with h5py.File(out, "r") as f, h5py.File(src, "r") as g:
    W32 = {k: v[()].astype(np.float32).astype(np.float64) for k, v in g["weights"].items()}
    cfg = dict(n=4, psize=2, L=2, T=[3, 2], J="attn", heads=4, gta=True, c_norm="gn",
               use_omega=False, global_omg=False, project=True)
    c, x, layers, head = ref.object_net(images, g["initial/noise"][()], W32, cfg)
    check("weights from a file", "readout features", f["output/features"][()], c, 1e-10)
    named = f.attrs["weights"]
    if (named.decode() if isinstance(named, bytes) else named) != wfile:
        failures.append("the trace does not name its weight file")

# ---- a weight file of the wrong shape: the parameter is named, exit 2, nothing written
with h5py.File(wfile, "a") as w:
    del w["layers.0.0.connectivity.W_o.weight"]
    w["layers.0.0.connectivity.W_o.weight"] = np.zeros((16, 8, 1, 1), np.float32)
    w["extra.thing"] = np.zeros(3)
    del w["layers.1.1.bias"]
bad_out = os.path.join(OUT, "bad.h5")
if os.path.exists(bad_out):
    os.remove(bad_out)
_, p = run("bad", base.format(w=wfile, n=nfile, i=ifile), expect=2)
if os.path.exists(os.path.join(OUT, "bad.h5")):
    failures.append("a run with a bad weight file wrote its output")
for needle in ("'layers.0.0.connectivity.W_o.weight' has shape [16, 8, 1, 1], expected "
               "[16, 16, 1, 1]", "missing 'layers.1.1.bias' [16]", "unexpected 'extra.thing' [3]"):
    if needle not in p.stderr:
        failures.append(f"weight shape error does not say: {needle}\n{p.stderr}")
print("  shape errors:", p.stderr.strip().splitlines()[0])

# ---- the recorded evaluation: recompute FG-ARI / mBO from the stored labels and masks
with h5py.File(os.path.join(OUT, "obj_conv5_gn_gamma_float64.h5"), "r") as f:
    labels, masks = f["output/labels"][()], f["input/masks"][()]
    for b in range(len(labels)):
        t, pl = masks[b].ravel(), labels[b].ravel()
        fg = t > 0
        from collections import Counter

        def comb(n):
            return n * (n - 1) / 2
        tt, pp = t[fg], pl[fg]
        nij = Counter(zip(tt, pp))
        a, bb = Counter(tt), Counter(pp)
        sij = sum(comb(v) for v in nij.values())
        sa, sb = sum(comb(v) for v in a.values()), sum(comb(v) for v in bb.values())
        exp = sa * sb / comb(len(tt))
        ari = 1.0 if 0.5 * (sa + sb) == exp else (sij - exp) / (0.5 * (sa + sb) - exp)
        check("evaluation", f"FG-ARI image {b}", f["output/fg_ari"][b], ari, 1e-12)
        ious = []
        for o in np.unique(t):
            if o in (0, -1):
                continue
            m = t == o
            ious.append(max(((m & (pl == s)).sum() / (m | (pl == s)).sum()) for s in np.unique(pl)))
        check("evaluation", f"mBO image {b}", f["output/mbo"][b], np.mean(ious), 1e-12)

# ---- post-analysis of network traces: info, plot (energies, segmentation), summary
if len(sys.argv) > 3:
    sys.path.insert(0, sys.argv[3])
    from hkam import analysis as ha
    src = os.path.join(OUT, "obj_conv5_gn_gamma_float64.h5")
    figs = ha.plot_network(src, os.path.join(OUT, "figures"))
    if [os.path.basename(f) for f in figs] != ["network_energy.png", "segmentation.png"] or \
            min(os.path.getsize(f) for f in figs) < 5000:
        failures.append(f"network figures missing or empty: {figs}")
    en = ha.network_energies(src)
    with h5py.File(src, "r") as f:
        if not np.array_equal(en[0][0], f["layers/0/energy"][()]):
            failures.append("network_energies does not return /layers/0/energy")
    text = ha.network_summary(src)
    if "fg_ari" not in text or "objects network" not in text:
        failures.append(f"network summary lacks its results: {text}")
    p = subprocess.run([HKAM, "info", src], capture_output=True, text=True)
    if p.returncode != 0 or "network          objects, float64, discrete" not in p.stdout:
        failures.append(f"hkam info on a network trace: {p.stdout}{p.stderr}")
    print("  post-analysis: figures", [os.path.basename(f) for f in figs], "and hkam info ok")

if failures:
    print("\n".join(["FAILED:"] + failures))
    sys.exit(1)
print("all AKOrN network checks passed")
