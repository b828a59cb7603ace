"""The `hkam` Python package against the C++ core and the CLI.

usage: python_module.py HKAM OUT_DIR      (with PYTHONPATH = <build>/python)

- a trace of `hkam run` (the demo's model, 64 units): the model loaded from it gives the trace's
  energies bit for bit at the recorded states, and its energy parts;
- batched = looped: energy, rhs and vjp of a batch equal the rows one at a time (1e-13);
- vjp against central differences of rhs (parameters and state);
- gradient through a fixed-step solve against central differences of the loss;
- simulate: the audit holds for a Hopfield-Kuramoto model, a batch solve equals the single
  solves, t and shapes as documented; Ctrl-C (SIGINT during a solve) raises Interrupted with the
  partial solution;
- load_config: simulate() reproduces `hkam run`'s trace bit for bit (a hopfield_kuramoto and an
  akorn_kuramoto config), run() writes the same trace and never overwrites one; bad keys name
  file and line;
- float32 agrees with float64 (energy, rhs, vjp, simulate, gradient);
- stop conditions, sampling, and a negative control (a rising energy is flagged);
- bad input raises ValueError with a clear message: wrong shapes, dtypes, NaN, empty arrays, bad
  names; non-contiguous and integer arrays are accepted.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np

import hkam

HKAM, OUT = sys.argv[1], sys.argv[2]
os.makedirs(OUT, exist_ok=True)
failures = []


def expect(cond, what):
    print(("  ok    " if cond else "  FAIL  ") + what)
    if not cond:
        failures.append(what)


def raises(fn, needle, what):
    try:
        fn()
    except ValueError as e:
        expect(needle in str(e), f"{what}: ValueError mentioning '{needle}' ({e})")
        return
    except Exception as e:  # noqa: BLE001
        expect(False, f"{what}: expected ValueError, got {type(e).__name__}: {e}")
        return
    expect(False, f"{what}: no error raised")


# ---- the CLI's trace, recomputed bit for bit
trace = os.path.join(OUT, "demo64.h5")
demo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "experiments",
                    "demo.toml")
p = subprocess.run([HKAM, "run", demo, "-o", trace, "--force", "--quiet", "--set",
                    "hopfield.units=64", "--set", "integrator.t_end=2"],
                   capture_output=True, text=True)
if p.returncode != 0:
    sys.exit(f"hkam run failed: {p.stderr}")
import h5py  # noqa: E402

m = hkam.load_model(trace)
with h5py.File(trace, "r") as f:
    xs, sig, energies = f["trace/x"][()], f["trace/sigma"][()], f["trace/energy"][()]
    parts = {k: f["trace/energy_parts"][k][()] for k in f["trace/energy_parts"]}
zs = np.concatenate([xs, sig.reshape(len(xs), -1)], axis=1)
expect(m.dim == 64 + 64 * 3 and m.units == 64 and m.oscillators == 64 and m.osc_dim == 3,
       f"load_model: the demo's sizes ({m!r})")
same = all(m.energy(zs[t]) == energies[t] for t in range(len(zs)))
expect(same, f"energies at the {len(zs)} recorded states equal the trace's bit for bit")
ep = m.energy_parts(zs[-1])
expect(set(ep) == set(parts) and all(ep[k] == parts[k][-1] for k in ep),
       f"energy parts equal the trace's: {sorted(ep)}")
g, reason, _ = m.lyapunov()
expect(g, f"the demo's model is guaranteed Lyapunov ({reason!r})")

# ---- batched = looped
rng = np.random.default_rng(3)
Z = hkam.random_state(m, batch=5, seed=1)
V = rng.standard_normal(Z.shape)
e_b = m.energy(Z)
e_l = np.array([m.energy(z) for z in Z])
expect(np.max(np.abs(e_b - e_l)) <= 1e-13 * np.max(np.abs(e_l)),
       f"batched energy = looped ({np.max(np.abs(e_b - e_l)):.1e})")
f_b = m.rhs(Z)
f_l = np.stack([m.rhs(z) for z in Z])
expect(np.max(np.abs(f_b - f_l)) <= 1e-12 * np.max(np.abs(f_l)),
       f"batched rhs = looped ({np.max(np.abs(f_b - f_l)):.1e})")
zb_b, gr_b = m.vjp(Z, V)
rows = [m.vjp(Z[b], V[b]) for b in range(len(Z))]
zb_l = np.stack([r[0] for r in rows])
expect(np.max(np.abs(zb_b - zb_l)) <= 1e-12 * np.max(np.abs(zb_l)), "batched vjp = looped (state)")
for k in gr_b:
    tot = sum(np.asarray(r[1][k]) for r in rows)
    expect(np.allclose(gr_b[k], tot, rtol=1e-11, atol=1e-12), f"batched vjp = looped ({k})")

# ---- vjp against central differences of rhs, on a small general model
def skew(a):
    return 0.5 * (a - a.T)


N, M, D = 6, 6, 3
W = rng.standard_normal((N, N))
ring = hkam.Graph.ring(M, 2)
small = hkam.HopfieldKuramoto(W=W, b=rng.standard_normal(N), lagrangian="tanh", beta=1.3,
                              oscillators=M, dim=D, graph=ring, potential="tanh",
                              A=rng.standard_normal(ring.num_edges),
                              B=rng.standard_normal(ring.num_edges),
                              omega=skew(rng.standard_normal((D, D))), coupling="multiplicative",
                              coupling_graph=hkam.Graph.watts_strogatz(N, 2, 0.3, seed=5),
                              alpha=0.7)
z = hkam.random_state(small, seed=4)
v = rng.standard_normal(small.dim)
zbar, grads = small.vjp(z, v)
h = 1e-6
fd = np.array([(v @ small.rhs(z + h * e) - v @ small.rhs(z - h * e)) / (2 * h)
               for e in np.eye(small.dim)])
expect(np.max(np.abs(zbar - fd)) < 1e-7 * max(1, np.max(np.abs(fd))),
       f"vjp state part = central differences ({np.max(np.abs(zbar - fd)):.1e})")


# parameter gradient of v.f against central differences, through load/rebuild of the model
def rebuilt(**change):
    base = dict(W=W, b=np.array(small_b), lagrangian="tanh", beta=1.3, oscillators=M, dim=D,
                graph=ring, potential="tanh", A=np.array(small_A), B=np.array(small_B),
                omega=np.array(small_omega), coupling="multiplicative",
                coupling_graph=small_cg, alpha=0.7)
    base.update(change)
    return hkam.HopfieldKuramoto(**base)


rng2 = np.random.default_rng(8)
small_b = rng2.standard_normal(N)
small_A = rng2.standard_normal(ring.num_edges)
small_B = rng2.standard_normal(ring.num_edges)
small_omega = skew(rng2.standard_normal((D, D)))
small_cg = hkam.Graph.watts_strogatz(N, 2, 0.3, seed=5)
base = rebuilt()
_, grads = base.vjp(z, v)
for name, key, arr in [("A", "kuramoto.a", small_A), ("B", "kuramoto.b", small_B),
                       ("b", "hopfield.b", small_b)]:
    fd = np.zeros_like(arr)
    for i in range(arr.size):
        ap, am = arr.copy(), arr.copy()
        ap[i] += h
        am[i] -= h
        fd[i] = (v @ rebuilt(**{name: ap}).rhs(z) - v @ rebuilt(**{name: am}).rhs(z)) / (2 * h)
    expect(np.max(np.abs(grads[key] - fd)) < 1e-7 * max(1, np.max(np.abs(fd))),
           f"vjp {key} = central differences ({np.max(np.abs(grads[key] - fd)):.1e})")
fd_alpha = (v @ rebuilt(alpha=0.7 + h).rhs(z) - v @ rebuilt(alpha=0.7 - h).rhs(z)) / (2 * h)
expect(abs(grads["coupling.alpha"] - fd_alpha) < 1e-7 * max(1, abs(fd_alpha)),
       f"vjp coupling.alpha = central differences ({grads['coupling.alpha']:.6g} vs {fd_alpha:.6g})")

# ---- gradient through a fixed-step solve against central differences of the loss
target = rng.standard_normal(base.dim)
opts = dict(t_end=0.5, stepper="rk4", dt=0.05)


def loss(model, z0):
    zT = hkam.simulate(model, z0, **opts).z[-1]
    return 0.5 * np.sum((zT - target) ** 2)


zT, dz0, g = hkam.gradient(base, z, np.zeros(base.dim), **opts)
zT, dz0, g = hkam.gradient(base, z, zT - target, **opts)
fd_a = np.zeros_like(small_A)
for i in range(small_A.size):
    ap, am = small_A.copy(), small_A.copy()
    ap[i] += h
    am[i] -= h
    fd_a[i] = (loss(rebuilt(A=ap), z) - loss(rebuilt(A=am), z)) / (2 * h)
expect(np.max(np.abs(g["kuramoto.a"] - fd_a)) < 1e-6 * max(1, np.max(np.abs(fd_a))),
       f"gradient through rk4 (kuramoto.a) = central differences of the loss "
       f"({np.max(np.abs(g['kuramoto.a'] - fd_a)):.1e})")
fd_x = np.array([(loss(base, z + h * e) - loss(base, z - h * e)) / (2 * h)
                 for e in np.eye(base.dim)[:N]])
expect(np.max(np.abs(dz0[:N] - fd_x)) < 1e-6 * max(1, np.max(np.abs(fd_x))),
       "gradient dL/dx0 = central differences of the loss")

# parameters and a gradient step: the loss goes down
pars = base.parameters()
expect(set(g) <= set(pars) and np.array_equal(pars["kuramoto.a"], small_A),
       f"parameters() are named like the gradients ({sorted(pars)})")
lr = 1e-3
stepped = base.with_parameters(**{k: pars[k] - lr * g[k] for k in g})
expect(loss(stepped, z) < loss(base, z),
       f"one gradient step with with_parameters lowers the loss ({loss(base, z):.6g} -> "
       f"{loss(stepped, z):.6g})")
raises(lambda: base.with_parameters(**{"kuramoto.c": 1.0}), "unknown parameter 'kuramoto.c'",
       "with_parameters names an unknown key")
raises(lambda: base.with_parameters(**{"kuramoto.a": np.zeros(3)}), "expected shape",
       "with_parameters checks shapes")

# ---- simulate
sol = hkam.simulate(m, zs[0], t_end=2.0, rtol=1e-8, atol=1e-10)
expect(sol.audit.monotone and sol.audit.checked > 10,
       f"simulate of the demo's model: audit monotone ({sol.audit!r})")
expect(sol.end_reason == "t_end" and sol.t[0] == 0.0 and abs(sol.t[-1] - 2.0) < 1e-12,
       f"simulate ends at t_end ({sol!r})")
expect(sol.z.shape == (len(sol.t), m.dim) and sol.energy.shape == (len(sol.t),),
       "simulate shapes of one trajectory: (T, dim) and (T,)")
expect(abs(sol.energy[-1] - m.energy(sol.z[-1])) <= 1e-12 * abs(sol.energy[-1]) + 1e-12,
       "simulate's energies are the model's")
Zb = hkam.random_state(small, batch=3, seed=2)
bat = hkam.simulate(small, Zb, t_end=0.5, stepper="rk4", dt=0.05)
one = [hkam.simulate(small, Zb[b], t_end=0.5, stepper="rk4", dt=0.05).z[-1] for b in range(3)]
expect(bat.z.shape == (len(bat.t), 3, small.dim) and
       np.max(np.abs(bat.z[-1] - np.stack(one))) < 1e-12,
       "a fixed-step batch solve equals the single solves")

# Ctrl-C: SIGINT arrives during a long solve
big = hkam.Kuramoto(2000, dim=3, graph=hkam.Graph.watts_strogatz(2000, 20, 0.1, seed=1), A=-0.01)
timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
timer.start()
try:
    hkam.simulate(big, hkam.random_state(big, seed=1), t_end=1e6, rtol=1e-10, atol=1e-12)
    expect(False, "Ctrl-C during simulate raises Interrupted")
except hkam.Interrupted as e:
    s = e.solution
    expect(s.end_reason == "interrupted" and len(s.t) > 1 and s.t[-1] < 1e6,
           f"Ctrl-C during simulate raises Interrupted with the partial solution ({s!r})")
timer.cancel()
# ... and during Experiment.run: the trace keeps everything so far, Python's handler comes back
long_exp = hkam.load_config(demo, set=["hopfield.units=64", "integrator.t_end=1e6"])
timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
timer.start()
try:
    long_exp.run(os.path.join(OUT, "interrupted.h5"), force=True)
    expect(False, "Ctrl-C during Experiment.run raises KeyboardInterrupt")
except KeyboardInterrupt as e:
    with h5py.File(os.path.join(OUT, "interrupted.h5"), "r") as f:
        end = f["summary"].attrs["end_reason"]
        kept = len(f["trace/time"])
    end = end.decode() if isinstance(end, bytes) else end
    expect(end == "interrupted" and kept > 1,
           f"Ctrl-C during Experiment.run raises KeyboardInterrupt, the trace keeps {kept} records "
           f"({e})")
timer.cancel()
timer = threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGINT))
timer.start()
try:
    time.sleep(3)
    expect(False, "Python's SIGINT handler is back after Experiment.run")
except KeyboardInterrupt:
    expect(True, "Python's SIGINT handler is back after Experiment.run")


# ---- load_config: the experiment `hkam run` ran, reproduced bit for bit
exp = hkam.load_config(demo, set=["hopfield.units=64", "integrator.t_end=2"])
expect(exp.kind == "hopfield_kuramoto" and exp.model.dim == m.dim and exp.model.batched,
       f"load_config: the demo's model ({exp!r})")
with h5py.File(trace, "r") as f:
    t_trace = f["trace/time"][()]
    audit_rows = f["audit/energy"][()]
    audit_max = f["audit/energy"].attrs["max_increase"]
csol = exp.simulate()
expect(np.array_equal(csol.t, t_trace) and np.array_equal(csol.energy, energies) and
       np.array_equal(csol.z, zs),
       f"load_config(...).simulate() gives hkam run's {len(t_trace)} recorded times, states and "
       "energies bit for bit")
expect(csol.audit.checked == len(audit_rows) - 1 and csol.audit.max_increase == audit_max,
       f"and the same audit ({csol.audit.checked} steps, largest change {csol.audit.max_increase:.3g})")
# a run stopped by a stop condition between two samples (its last record is off the grid)
stop_sets = ["hopfield.units=64", "integrator.t_end=200", "stop.plateau_window=0.5",
             "stop.plateau_tol=1e-4"]
stop_trace = os.path.join(OUT, "demo64_plateau.h5")
p = subprocess.run([HKAM, "run", demo, "-o", stop_trace, "--force", "--quiet"] +
                   [a for kv in stop_sets for a in ("--set", kv)], capture_output=True, text=True)
if p.returncode != 0:
    sys.exit(f"hkam run (plateau) failed: {p.stderr}")
ssol = hkam.load_config(demo, set=stop_sets).simulate()
with h5py.File(stop_trace, "r") as f:
    st_t, st_e = f["trace/time"][()], f["trace/energy"][()]
    st_end = f["summary"].attrs["end_reason"]
st_end = st_end.decode() if isinstance(st_end, bytes) else st_end
expect(ssol.end_reason == st_end == "energy_plateau" and np.array_equal(ssol.t, st_t) and
       np.array_equal(ssol.energy, st_e),
       f"a run ended by its plateau stop at t = {st_t[-1]:.6g} (off the sample grid): simulate() "
       "= hkam run's trace, last record included")
rep = exp.run(os.path.join(OUT, "from_python.h5"), force=True)
with h5py.File(os.path.join(OUT, "from_python.h5"), "r") as f:
    same_file = np.array_equal(f["trace/energy"][()], energies)
expect(rep["exit_status"] == 0 and rep["monotone"] and same_file,
       f"Experiment.run writes hkam run's trace ({rep['steps']} steps, exit {rep['exit_status']})")
try:
    exp.run(os.path.join(OUT, "from_python.h5"))
    expect(False, "Experiment.run refuses to overwrite an existing trace")
except FileExistsError:
    expect(True, "Experiment.run refuses to overwrite an existing trace (FileExistsError)")
try:
    exp.run(os.path.join(trace, "under_a_file", "x.h5"))
    expect(False, "an output that cannot be created raises OSError")
except OSError as e:
    expect(not isinstance(e, FileExistsError),
           f"an output that cannot be created raises OSError ({e})")
bad = os.path.join(OUT, "bad.toml")
with open(bad, "w") as fh:
    fh.write('[model]\nkind = "hopfield"\n[hopfield]\nunits = 8\nlagrangain = "tanh"\n'
             '[integrator]\nt_end = 1.0\n')
raises(lambda: hkam.load_config(bad), "bad.toml:5", "a misspelt config key: file and line")
raises(lambda: hkam.load_config(bad), "lagrangain", "a misspelt config key: named")
raises(lambda: hkam.load_config(demo, set=["integrator.stepper=rk5"]), "rk5",
       "a bad --set value")
try:
    hkam.load_config(os.path.join(OUT, "missing.toml"))
    expect(False, "a missing config raises FileNotFoundError")
except FileNotFoundError:
    expect(True, "a missing config raises FileNotFoundError")
experiments = os.path.dirname(demo)
# a [network] config: run as `hkam run` runs it, read back
net_cfg = os.path.join(experiments, "akorn_net_energy.toml")
net = hkam.load_config(net_cfg, ignore_sweep=True)
net_out = os.path.join(OUT, "net_py.h5")
res = net.run(net_out, force=True)
p = subprocess.run([HKAM, "run", net_cfg, "-o", os.path.join(OUT, "net_cli.h5"), "--force",
                    "--quiet", "--ignore-sweep"], capture_output=True, text=True)
with h5py.File(net_out, "r") as f1, h5py.File(os.path.join(OUT, "net_cli.h5"), "r") as f2:
    same_net = all(np.array_equal(f1["layers"][k]["energy"][()], f2["layers"][k]["energy"][()])
                   for k in f2["layers"])
expect(isinstance(net, hkam.NetworkExperiment) and res.exit_status == 0 and p.returncode == 0
       and same_net and len(res.energies) > 0,
       f"a network config runs from Python as hkam run runs it ({len(res.energies)} blocks, "
       "the same energies)")
fw = net.forward()
with h5py.File(net_out, "r") as f:
    file_e = [f["layers"][str(k)]["energy"][()] for k in range(len(f["layers"]))]
    file_x = f["output/x"][()]
    images = f["input/images"][()]
expect(all(np.array_equal(a, b) for a, b in zip(fw["energy"], file_e)) and
       np.array_equal(fw["x"], file_x),
       f"NetworkExperiment.forward() in memory = the run's output file (energies, x {fw['x'].shape})")
fw2 = net.forward(images)
expect(all(np.array_equal(a, b) for a, b in zip(fw2["energy"], fw["energy"])),
       f"forward(images) on the config's own images {images.shape} gives the same energies")
fw3 = net.forward(images[:2])
expect(fw3["chains"] == 2 and fw3["x"].shape[0] == 2, "forward on two images: two chains")
raises(lambda: net.forward(images[:, :2]), "expected shape (B, 3, S, S)", "images of 2 channels")
raises(lambda: net.forward(images[:, :, :8, :8]), "8 x 8", "images of another size")
sud_cfg = os.path.join(experiments, "akorn_net_sudoku.toml")
sud = hkam.load_config(sud_cfg, ignore_sweep=True, set=["network.channels=32", "input.batch=2",
                                                         "evaluate.steps=8", "evaluate.votes=2"])
sud_res = sud.run(os.path.join(OUT, "sudoku_py.h5"), force=True)
boards = sud_res.read("input/boards")
sfw, sfw2 = sud.forward(), sud.forward(boards)
expect(boards.shape == (2, 9, 9) and sfw["features"].shape == (4, 9, 9, 9) and
       all(np.array_equal(a, b) for a, b in zip(sfw["energy"], sfw2["energy"])) and
       np.array_equal(sfw["energy"][0], sud_res.energies[0][0]),
       "a Sudoku network: forward(boards) = forward() = the run's energies (2 boards x 2 votes)")
raises(lambda: sud.forward(np.full((1, 81), 10)), "0 (empty) to 9", "a board with a digit 10")
raises(lambda: hkam.load_config(net_cfg, set=["network.steps=-1"], ignore_sweep=True),
       "network.steps",
       "a bad network key is named")

# the other kinds: an AKOrN K-layer (no batched form) through the single-trajectory path
akt = os.path.join(OUT, "akorn.h5")
p = subprocess.run([HKAM, "run", os.path.join(experiments, "akorn_coupling.toml"), "-o", akt,
                    "--force", "--quiet", "--ignore-sweep", "--set", "akorn.oscillators=32",
                    "--set", "integrator.t_end=3"], capture_output=True, text=True)
if p.returncode != 0:
    sys.exit(f"hkam run (akorn) failed: {p.stderr}")
ak = hkam.load_config(os.path.join(experiments, "akorn_coupling.toml"),
                      set=["akorn.oscillators=32", "integrator.t_end=3"], ignore_sweep=True)
ak_sol = ak.simulate()
with h5py.File(akt, "r") as f:
    ak_e = f["trace/energy"][()]
expect(ak.model.kind == "akorn_kuramoto" and not ak.model.batched and
       np.array_equal(ak_sol.energy, ak_e),
       f"an akorn_kuramoto config: simulate() = hkam run's energies bit for bit ({len(ak_e)} records)")
Zk = ak_sol.z[:3]
expect(np.array_equal(ak.model.energy(Zk), np.array([ak.model.energy(zk) for zk in Zk])),
       "a model without batched form evaluates a batch row by row")
raises(lambda: ak.model.vjp(Zk, Zk), "no batched form", "vjp of an akorn_kuramoto model")

# ---- float32: the batched float kernels
Z32 = Z.astype(np.float32)
e32, f32 = m.energy(Z32), m.rhs(Z32)
e64, f64 = m.energy(Z32.astype(np.float64)), m.rhs(Z32.astype(np.float64))
expect(e32.dtype == np.float32 and f32.dtype == np.float32, "float32 in, float32 out")
expect(np.max(np.abs(e32 - e64) / np.abs(e64)) < 1e-5 and
       np.max(np.abs(f32 - f64)) < 1e-4 * np.max(np.abs(f64)),
       f"float32 energy and rhs agree with float64 ({np.max(np.abs(e32 - e64) / np.abs(e64)):.1e})")
zb32, gr32 = m.vjp(Z32, V.astype(np.float32))
expect(zb32.dtype == np.float32 and
       np.max(np.abs(zb32 - zb_b)) < 1e-4 * np.max(np.abs(zb_b)) and
       abs(gr32["coupling.alpha"] - gr_b["coupling.alpha"]) < 1e-3 * abs(gr_b["coupling.alpha"]),
       "float32 vjp agrees with float64")
s32 = hkam.simulate(small, Zb.astype(np.float32), t_end=0.5, stepper="rk4", dt=0.05)
expect(s32.z.dtype == np.float32 and np.max(np.abs(s32.z[-1] - bat.z[-1])) < 1e-4,
       "a float32 batch solve agrees with float64")
zT32, dz32, g32 = hkam.gradient(base, z.astype(np.float32), (zT - target).astype(np.float32),
                                **opts)
expect(np.max(np.abs(g32["kuramoto.a"] - g["kuramoto.a"])) < 1e-3 * np.max(np.abs(g["kuramoto.a"])),
       "a float32 gradient agrees with float64")

# ---- stop conditions and sampling (one trajectory)
st = hkam.simulate(m, zs[0], t_end=1e4, plateau=(1.0, 1e-9))
expect(st.end_reason == "energy_plateau" and st.t[-1] < 1e4,
       f"plateau=(window, tol) stops at the plateau (t = {st.t[-1]:.3g})")
kur = hkam.Kuramoto(50, dim=3, A=-0.2)
st = hkam.simulate(kur, hkam.random_state(kur, seed=3), t_end=1e4, order_parameter=0.99)
expect(st.end_reason == "order_parameter", "order_parameter stops once r is reached")
st = hkam.simulate(m, zs[0], t_end=1.0, sample_every=0.25)
expect(np.allclose(st.t, [0, 0.25, 0.5, 0.75, 1.0], rtol=0, atol=1e-12),
       f"sample_every gives the sample times ({st.t})")
raises(lambda: hkam.simulate(m, Z, t_end=1.0, sample_every=0.1), "one float64 trajectory",
       "sampling a batch is refused with a message")

# ---- negative control: an energy that rises is flagged, one trajectory and a batch
hop = hkam.Hopfield(W=np.zeros((4, 4)), b=np.zeros(4), lagrangian="tanh")
x0 = np.array([0.5, -0.3, 0.2, 0.1])
for what, z_in in (("one trajectory", x0), ("a batch", np.stack([x0, 2 * x0]))):
    bad_sol = hkam.simulate(hop, z_in, t_end=20, stepper="euler", dt=2.5)
    expect(not bad_sol.audit.monotone and bad_sol.audit.violations > 0,
           f"Euler with dt = 2.5 on dx/dt = -x makes E rise: the audit flags it ({what}, "
           f"{bad_sol.audit.violations} violations)")

# ---- bad input
raises(lambda: m.energy(np.zeros(5)), "expected shape (256,) or (B, 256)", "energy of a wrong shape")
raises(lambda: m.rhs(np.zeros((0, m.dim))), "B >= 1", "rhs of an empty batch")
raises(lambda: hkam.simulate(m, np.full(m.dim, np.nan), t_end=1), "NaN", "simulate from NaN")
raises(lambda: hkam.simulate(m, zs[0], t_end=1, stepper="rk5"), "rk5", "an unknown stepper")
raises(lambda: hkam.simulate(m, zs[0], t_end=1e6, rtol=1e-3), "tolerance",
       "an audit tolerance (100 x rtol) above 1 %, refused before the solve")
raises(lambda: hkam.Hopfield(W=np.eye(3), b=np.zeros(3), lagrangian="cosh"), "cosh",
       "an unknown Lagrangian")
raises(lambda: hkam.Hopfield(W=np.eye(2), b=np.zeros(3)), "W: expected shape (3, 3)",
       "W of the wrong shape")
raises(lambda: hkam.Graph.from_edges(3, np.array([[0, 3]])), "outside [0, 3)",
       "an edge outside the graph")
raises(lambda: m.vjp(Z, V[:2]), "same shape", "vjp with mismatched batches")
strided = np.asfortranarray(np.tile(zs[0], (3, 1)))[:, :]
expect(np.array_equal(m.energy(strided[::2]), m.energy(np.ascontiguousarray(strided[::2]))),
       "non-contiguous batches are accepted")
raises(lambda: m.energy(np.zeros(m.dim, dtype=complex)), "real numbers", "complex numbers")
raises(lambda: m.energy(np.array(["a"] * m.dim)), "real numbers", "strings")
raises(lambda: m.energy(np.zeros(0)), "expected shape", "an empty state")
raises(lambda: m.rhs(np.zeros((2, 3, m.dim))), "expected shape", "a 3-d array")
raises(lambda: hkam.gradient(m, np.full(m.dim, np.inf), np.zeros(m.dim), t_end=1), "NaN or infinity",
       "gradient from inf")
hz = hkam.Hopfield(W=np.eye(3), b=np.zeros(3))
expect(hz.energy(np.array([1, 0, 0])) == hz.energy(np.array([1.0, 0.0, 0.0])),
       "integer arrays are converted")

if failures:
    print("FAILED:\n" + "\n".join(failures))
    sys.exit(1)
print("all Python module checks passed")
