"""hkam from Python: Hopfield-Kuramoto associative memories with audited energies.

Build models from numpy arrays or from an experiment config, evaluate energies, right-hand
sides and vector-Jacobian products (one state or a batch, float64 or float32), integrate with
the energy audit, take gradients through a solve, and read traces and training files - with
hkam's C++ core underneath (docs/python.md).

States are arrays of shape (dim,) for one trajectory or (B, dim) for a batch; a row is
[x (N units); sigma_0 ... sigma_{M-1} (M oscillators of dimension D, unit vectors)].

>>> import numpy as np, hkam
>>> m = hkam.Hopfield(W=np.eye(3), b=np.zeros(3), lagrangian="tanh")
>>> sol = hkam.simulate(m, np.array([0.5, -0.2, 0.1]), t_end=2.0)
>>> sol.audit.monotone
True

Reading what `hkam run`, `hkam sweep` and `hkam train` wrote needs only numpy and h5py:
hkam.load_trace, hkam.load_sweep, hkam.load_training (hkam.analysis, hkam.training).
"""

import os

import numpy as np

try:
    from . import _hkam
    from ._hkam import Graph, Params  # noqa: F401
    __version__ = _hkam.__version__
except ImportError as _exc:  # the analysis part works without the compiled core
    _hkam = None
    _core_error = _exc
    __version__ = "unknown (the compiled core _hkam is not built)"

from . import analysis, training  # noqa: E402
from .analysis import load as load_trace, load_folder, load_sweep, to_xarray  # noqa: E402,F401
from .training import load as load_training  # noqa: E402,F401

__all__ = ["Graph", "Params", "Model", "Hopfield", "Kuramoto", "HopfieldKuramoto", "Solution",
           "Audit", "Interrupted", "Experiment", "NetworkExperiment", "NetworkResult", "simulate", "gradient", "random_state",
           "load_model", "load_config", "load_trace", "load_folder", "load_sweep",
           "load_training", "to_xarray", "analysis", "training"]


def __getattr__(name):  # Graph and Params without the compiled core: say why they are missing
    if name in ("Graph", "Params") and _hkam is None:
        _core()
    raise AttributeError(f"module 'hkam' has no attribute '{name}'")


def _core():
    if _hkam is None:
        raise ImportError("hkam's compiled core (_hkam) is not built: build the target "
                          "hkam_python and put <build>/python on PYTHONPATH (docs/python.md); "
                          f"the import failed with: {_core_error}")
    return _hkam


def _vec(v, n=None, name="array"):
    a = np.asarray(v if v is not None else [], dtype=np.float64).ravel()
    if n is not None and a.size not in (n,):
        raise ValueError(f"{name}: expected {n} values, got {a.size}")
    return a


class Model:
    """A model of one of hkam's kinds: "hopfield", "kuramoto", "hopfield_kuramoto" (HK1)-(HK4)
    with identity pairing (docs/models.md), and from a config also "akorn" and "akorn_conv".

    Build it with `Hopfield`, `Kuramoto` or `HopfieldKuramoto`, or get a config's model from
    `load_config`. Methods take one state (dim,) or a batch (B, dim):

    - energy(z) -> float or (B,): E = kappa_H E_H + kappa_K E_K + E_HK;
    - energy_parts(z) -> dict of the named parts of one state;
    - rhs(z) -> dz/dt;
    - vjp(z, v) -> (zbar, grads): zbar = (df/dz)^T v per row, and grads, a dict of the
      parameter gradients sum_b (df/dtheta)^T v_b named like the parameters
      ("hopfield.w", "kuramoto.a", "coupling.alpha", ...);
    - lyapunov() -> (guaranteed, reason, warnings): whether E provably never increases along
      the exact flow, and why not;
    - parameters() -> dict of the parameter values, with_parameters(**values) -> a new model.

    One float64 state is evaluated by the same code `hkam run` uses (bit-identical to a trace);
    a float64 batch by the batched kernels; float32 arrays by the batched float kernels (results
    in float32). vjp, gradient and float32 need the batched form (`batched`): hopfield, kuramoto
    without a stimulus and hopfield_kuramoto with the identity pairing have it.

    Attributes: kind, dim, units (N), oscillators (M), osc_dim (D), batched, params (the
    Params, for the kinds with a batched form).
    """

    def __init__(self, params):
        self._m = _core().Model(params)  # ValueError with Params.validate()'s text when invalid

    @classmethod
    def _wrap(cls, core):
        m = cls.__new__(cls)
        m._m = core
        return m

    kind = property(lambda self: self._m.kind)
    dim = property(lambda self: self._m.dim)
    units = property(lambda self: self._m.units)
    oscillators = property(lambda self: self._m.oscillators)
    osc_dim = property(lambda self: self._m.osc_dim)
    batched = property(lambda self: self._m.batched)
    params = property(lambda self: self._m.params)

    def energy(self, z):
        """E(z): a float for one state (dim,), an array (B,) for a batch (B, dim)."""
        return self._m.energy(z)

    def energy_parts(self, z):
        """The named parts of E at one state (dim,), as `hkam run` records them; they sum to E."""
        return self._m.energy_parts(z)

    def rhs(self, z):
        """dz/dt at one state (dim,) or a batch (B, dim), same shape and dtype."""
        return self._m.rhs(z)

    def vjp(self, z, v):
        """(zbar, grads): zbar = (df/dz)^T v row by row, grads = sum_b (df/dtheta)^T v_b as a
        dict named like parameters(). z and v of the same shape."""
        return self._m.vjp(z, v)

    def lyapunov(self):
        """(guaranteed, reason, warnings): whether E provably never increases along the exact
        flow of this model, why not when it does not, and caveats."""
        return self._m.lyapunov()

    def parameters(self):
        """The parameter values as a dict named like gradient()'s and vjp()'s ("hopfield.w",
        "kuramoto.a", "coupling.alpha", ...), for the kinds with a batched form."""
        return self._m.parameters()

    def with_parameters(self, **values):
        """A new model with some parameters replaced, keys as in parameters() (each of the
        same shape): m.with_parameters(**{"coupling.alpha": 0.01}). A gradient step is
        m.with_parameters(**{k: p[k] - lr * g[k] for k in g}). ValueError for an unknown key,
        a wrong shape or invalid values."""
        return Model._wrap(self._m.with_parameters(values))

    def __repr__(self):
        return (f"<hkam.Model {self.kind} N={self.units} M={self.oscillators} D={self.osc_dim} "
                f"dim={self.dim}>")


def HopfieldKuramoto(W=None, b=None, lagrangian="tanh", beta=1.0, oscillators=0, dim=2,
                     graph=None, potential="linear", A=None, B=None, omega=None,
                     coupling="additive", coupling_graph=None, alpha=0.0, weights=None,
                     kappa_h=1.0, kappa_k=1.0):
    """The coupled model: N Hopfield units, M oscillators on S^(dim-1), unit i paired with
    oscillator i (so M = N when both are present).

    W (N, N), b (N,): Hopfield weights (the model uses W_s = (W + W^T)/2) and biases;
    lagrangian: "tanh", "sigmoid", "relu" or "lse" with gain beta.
    oscillators, dim: M and D; graph: the oscillator graph E_K (a Graph on M nodes);
    potential: "linear", "relu", "tanh" or "sigmoid"; A, B: pair-potential coefficients, one per
    edge of `graph` or one shared value; omega: D x D skew-symmetric natural frequency.
    coupling: "additive" (w_e = alpha), "multiplicative" (w_e = alpha [W_s]_ij) or "general"
    (w_e = weights[e]) on coupling_graph (a Graph on the N units; None: no coupling).
    kappa_h, kappa_k: the energy scales.
    """
    p = _core().Params()
    n = 0 if b is None else np.asarray(b).size
    if n:
        Wa = np.asarray(W, dtype=np.float64)
        if Wa.shape != (n, n):
            raise ValueError(f"W: expected shape ({n}, {n}) for {n} units, got {Wa.shape}")
        p.set_hopfield(Wa, _vec(b), lagrangian, float(beta))
    if oscillators:
        if graph is None:
            graph = _core().Graph.complete(oscillators)
        om = np.zeros((0, 0)) if omega is None else np.asarray(omega, dtype=np.float64)
        p.set_kuramoto(int(oscillators), int(dim), graph, potential, _vec(A), _vec(B), om)
    if coupling_graph is not None:
        p.set_coupling(coupling, coupling_graph, float(alpha), _vec(weights))
    p.kappa_h, p.kappa_k = float(kappa_h), float(kappa_k)
    return Model(p)


def Hopfield(W, b, lagrangian="tanh", beta=1.0):
    """A continuous Hopfield network dx/dt = W_s g(x) - x + b with g the gradient of the
    Lagrangian ("tanh", "sigmoid", "relu", "lse") at gain beta; E_H is its Lyapunov energy."""
    return HopfieldKuramoto(W=W, b=b, lagrangian=lagrangian, beta=beta)


def Kuramoto(oscillators, dim=2, graph=None, A=-1.0, B=None, potential="linear", omega=None):
    """Generalized Kuramoto oscillators on S^(dim-1) in Lyapunov form: E_K = sum over the edges
    of phi_e(sigma_i . sigma_j) with phi_e = A_e s (linear) or the potential's A_e s + B_e f(s).
    A < 0 synchronises (the classical coupling K = -A M on the complete graph)."""
    return HopfieldKuramoto(oscillators=oscillators, dim=dim, graph=graph, A=A, B=B,
                            potential=potential, omega=omega)


def random_state(model, batch=None, seed=0, scale=1.0):
    """A random state: x ~ N(0, scale^2), each oscillator uniform on the sphere. Shape (dim,) or
    (batch, dim)."""
    rng = np.random.default_rng(seed)
    B = 1 if batch is None else int(batch)
    z = np.empty((B, model.dim))
    N, M, D = model.units, model.oscillators, model.osc_dim
    z[:, :N] = scale * rng.standard_normal((B, N))
    s = rng.standard_normal((B, M, D))
    s /= np.linalg.norm(s, axis=2, keepdims=True)
    z[:, N:] = s.reshape(B, M * D)
    return z[0] if batch is None else z


class Audit:
    """The energy audit of a solve: every accepted step's energy is compared with the previous
    one, and an increase beyond relative_tolerance * max(|E|, 1) is a violation (docs/models.md,
    the audit). relative_tolerance = audit_factor * audit_rtol, as `hkam run` sets it."""

    def __init__(self, d):
        self.monotone = bool(d["monotone"])
        self.violations = int(d["violations"])
        self.checked = int(d["checked"])
        self.max_increase = float(d["max_increase"])
        self.max_increase_t = float(d["max_increase_t"])
        self.first_violation_step = int(d["first_violation_step"])
        self.relative_tolerance = float(d["relative_tolerance"])
        self.text = d["text"]

    def __repr__(self):
        return (f"<hkam.Audit {'monotone' if self.monotone else 'NOT monotone'}: "
                f"{self.violations} violations in {self.checked} steps, {self.text}>")


class Solution:
    """What simulate returns: t (T,), z (T, dim) or (T, B, dim), energy (T,) or (T, B) at the
    recorded steps or samples; audit (an Audit of every accepted step); end_reason ("t_end",
    "converged", "energy_plateau", "order_parameter", "max_steps", "step_collapse",
    "non_finite", "interrupted"); steps, rejected, evaluations; wall_seconds (the integration's
    own time, one float64 trajectory)."""

    def __init__(self, d):
        self.t = d["t"]
        self.z = d["z"]
        self.energy = d["energy"]
        self.audit = Audit(d["audit"])
        self.end_reason = d["end_reason"]
        self.steps, self.rejected, self.evaluations = d["steps"], d["rejected"], d["evaluations"]
        self.wall_seconds = d.get("wall_seconds", float("nan"))

    def __repr__(self):
        return (f"<hkam.Solution {len(self.t)} recorded states to t = {self.t[-1]:g}, "
                f"{self.end_reason}, {self.audit!r}>")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during simulate: `.solution` holds what was computed up to that moment."""

    def __init__(self, solution):
        super().__init__("simulate interrupted (the partial result is in .solution)")
        self.solution = solution


def simulate(model, z0, t_end, stepper="dopri5", rtol=1e-6, atol=1e-9, dt=None, dt_min=1e-12,
             dt_max=None, max_steps=100_000_000, normalize=True, record_every=1,
             sample_every=0.0, converged=0.0, plateau=None, order_parameter=0.0,
             audit_rtol=None, audit_factor=100.0, t0=0.0):
    """Integrates z0 (one state (dim,) or a batch (B, dim)) from t0 to t_end.

    stepper: "dopri5" (adaptive, rtol/atol; dt is the first step), "rkf78" (adaptive), "rk4",
    "euler" or "akorn" (fixed step dt: Euler then renormalise, the AKOrN update).

    One float64 state is integrated exactly as `hkam run` does (Boost.Odeint; dt defaults to
    1e-2): a config's run (load_config(...).simulate()) is reproduced bit for bit. It records
    every record_every-th accepted step, or, with sample_every > 0, states at t0 + k*sample_every
    (the stepper's dense output). Stop conditions: converged (stop once max|dz/dt| < converged),
    plateau = (window, tol) (stop once E fell by at most tol*max(|E|, 1) over `window` time),
    order_parameter (stop once the oscillators' r reaches it).

    A batch (B, dim), a float32 z0 or normalize=False goes through the batched solver: one
    step size for all trajectories (the error of the worst; dt defaults to automatic for
    dopri5 and 1e-2 for the fixed steppers), every record_every-th step recorded; no sampling
    or stop conditions there.

    Every accepted step's energy is audited with tolerance audit_factor * audit_rtol relative
    (audit_rtol defaults to rtol for adaptive steppers and 1e-10 for fixed ones, as `hkam run`).
    Returns a Solution; Ctrl-C raises Interrupted with the partial Solution.
    """
    window, tol = (0.0, 0.0) if plateau is None else plateau
    opts = dict(t0=float(t0), t_end=float(t_end), stepper=str(stepper), rtol=float(rtol),
                atol=float(atol), dt=None if dt is None else float(dt), dt_min=float(dt_min),
                dt_max=None if dt_max is None else float(dt_max), max_steps=int(max_steps),
                normalize=bool(normalize), record_every=int(record_every),
                sample_every=float(sample_every), converged=float(converged),
                plateau_window=float(window), plateau_tol=float(tol),
                order_parameter=float(order_parameter),
                audit_rtol=None if audit_rtol is None else float(audit_rtol),
                audit_factor=float(audit_factor))
    d = _core().simulate(model._m, z0, opts)
    sol = Solution(d)
    if d["keyboard_interrupt"]:
        raise Interrupted(sol)
    return sol


def gradient(model, z0, dloss, t_end, stepper="dopri5", rtol=1e-6, atol=1e-9, dt=None,
             dt_min=1e-12, max_steps=1_000_000, normalize=True, t0=0.0):
    """Reverse-mode gradient through a batched solve (discretise-then-optimise: the exact
    gradient of the computed solution, docs/gradients.md). dloss = dL/dz(t_end) (same shape as
    z0; float32 z0 runs in single precision).

    Returns (z_end, dz0, grads): the final state, dL/dz0 and a dict of dL/dtheta summed over
    the batch, named like the parameters ("hopfield.w", "kuramoto.a", "coupling.alpha", ...).
    """
    opts = dict(t0=float(t0), t_end=float(t_end), stepper=str(stepper), rtol=float(rtol),
                atol=float(atol), dt=None if dt is None else float(dt), dt_min=float(dt_min),
                max_steps=int(max_steps), normalize=bool(normalize))
    return _core().gradient(model._m, z0, dloss, opts)


class Experiment:
    """An experiment config read exactly as `hkam run` reads it (load_config).

    model (a Model), z0 (the initial state the config describes), patterns ((P, N) or empty),
    options (the keyword arguments of simulate that reproduce the run: stepper, t_end, dt,
    tolerances, sampling interval, stop conditions, audit), kind, title, output (the trace path),
    description, resolved_config (the TOML with every default filled in).

    simulate(**changes) integrates z0 with those options (bit-identical to the trace of
    `hkam run`); run(output=None, force=False) writes the trace itself and returns its report.
    """

    def __init__(self, core):
        self._e = core
        self.model = Model._wrap(core.model)
        self.kind, self.title, self.output = core.kind, core.title, core.output
        self.description = core.description
        self.z0 = core.z0
        self.patterns = core.patterns
        self.resolved_config = core.resolved_config

    @property
    def options(self):
        o = self._e.options()
        o["plateau"] = (o.pop("plateau_window"), o.pop("plateau_tol"))
        if o["plateau"][0] == 0:
            o["plateau"] = None
        return o

    def simulate(self, **changes):
        """hkam.simulate(self.model, self.z0, **(self.options | changes))."""
        return simulate(self.model, self.z0, **{**self.options, **changes})

    def run(self, output=None, force=False):
        """Runs the experiment as `hkam run` does and writes its trace (to `output`, default the
        config's). An existing file is never overwritten unless force=True (FileExistsError).
        Returns the report: output, end_reason, steps, energy_first/last, monotone, violations,
        guaranteed, exit_status (what `hkam run` would exit with), ... Ctrl-C stops the run with
        a checkpoint in the trace (`hkam resume` continues it) and raises KeyboardInterrupt."""
        path = output if output is not None else self.output
        if os.path.exists(path) and not force:
            raise FileExistsError(f"{path} exists: pass force=True to overwrite it, or another "
                                  "output")
        try:
            r = self._e.run(path, bool(force))
        except RuntimeError as e:  # the trace could not be created or written
            raise OSError(str(e)) from e
        if r["signal"]:
            raise KeyboardInterrupt(f"run interrupted by signal {r['signal']}; the trace {path} "
                                    "keeps everything so far (hkam resume continues it)")
        return r

    def __repr__(self):
        return f"<hkam.Experiment {self.description} -> {self.output}>"


class NetworkExperiment:
    """A [network] config (an AKOrN network of the reference with weights from a file or a seed,
    docs/akorn.md), validated as `hkam run` validates it (load_config).

    run(output=None, force=False) runs it as `hkam run` does and writes its output file
    (energies and oscillator states per block and step, outputs, evaluation: docs/trace-format.md
    §network); it returns a NetworkResult that reads them back as numpy arrays.
    forward(inputs=None) runs the same forward pass in memory on the config's inputs or on your
    images / boards and returns the arrays. output, resolved_config as for Experiment.
    """

    def __init__(self, core):
        self._e = core
        self.output, self.resolved_config = core.output, core.resolved_config

    def run(self, output=None, force=False):
        path = output if output is not None else self.output
        if os.path.exists(path) and not force:
            raise FileExistsError(f"{path} exists: pass force=True to overwrite it, or another "
                                  "output")
        status = self._e.run(path, bool(force))
        if status == 2:
            raise RuntimeError(f"the network run failed (its message is on stderr); {path} was "
                               "not written")
        return NetworkResult(path, status)

    def forward(self, inputs=None):
        """The network's forward pass in memory, nothing written: on the config's inputs, or on
        `inputs` - images (B, 3, S, S) (object and CIFAR networks; S the config's input side)
        or integer boards (B, 81) or (B, 9, 9), 0 for an empty cell (Sudoku). The chains' initial
        oscillators come from the config's seed (or noise file), as in run().

        Returns a dict of float64 arrays: energy and proxy_energy (lists with one (chains,
        T + 1) array per block: the K-layer's true energy and the reference's logged proxy),
        x (the final oscillators) and stimulus (the first block's c) as (chains, C, h, w),
        features (objects: the readout map (chains, C, h, w); Sudoku: the logits
        (chains, 9, 9, 9); CIFAR: the logits (chains, classes)), head (objects: (B, C));
        batch, chains, precision. Not interruptible by Ctrl-C (use run() for long runs)."""
        return self._e.forward(inputs)

    def __repr__(self):
        return f"<hkam.NetworkExperiment -> {self.output}>"


class NetworkResult:
    """The output file of a network run, read with h5py: path, exit_status (0, or 1 when values
    became non-finite), summary (the /summary attributes: accuracies, ARI, energies, ...),
    energies ({block: (energy, proxy_energy)}, each (chains, steps + 1): the true energy of each
    K-layer and the reference's logged proxy, docs/akorn.md), and read(name) for any dataset."""

    def __init__(self, path, exit_status):
        import h5py
        self.path, self.exit_status = path, exit_status
        with h5py.File(path, "r") as f:
            self.summary = ({k: _text(v) for k, v in f["summary"].attrs.items()}
                            if "summary" in f else {})
        self.energies = analysis.network_energies(path)

    def read(self, name):
        """The dataset `name` of the output file (e.g. "output/labels") as a numpy array."""
        import h5py
        with h5py.File(self.path, "r") as f:
            return f[name][()]

    def __repr__(self):
        return f"<hkam.NetworkResult {self.path}, exit status {self.exit_status}>"


def load_config(path, set=(), ignore_sweep=False):  # noqa: A002  (as `hkam run --set`)
    """An experiment config (TOML) read exactly as `hkam run` reads it: same keys, defaults
    and error messages (ValueError naming the key and its line), `set` = ["key=value", ...] as
    `hkam run --set`, ignore_sweep=True as `hkam run --ignore-sweep` (a sweep's base point).
    Returns an Experiment (its model, initial state and simulate options), or for a [network]
    config (the AKOrN networks) a NetworkExperiment."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such config file")
    core = _core().load_config(str(path), [str(s) for s in set], bool(ignore_sweep))
    if isinstance(core, _core().NetworkConfig):
        return NetworkExperiment(core)
    return Experiment(core)


def _text(v):
    return v.decode() if isinstance(v, bytes) else v


def load_model(path):
    """The model of a trace or training file (its /model group, docs/trace-format.md) as a
    Model: a Hopfield, Kuramoto or Hopfield-Kuramoto model with identity pairing.

    Evaluated on the same state, its energy and right-hand side are bit-identical to what
    `hkam run` computed for the trace."""
    import h5py
    with h5py.File(path, "r") as f:
        if "model" not in f:
            raise ValueError(f"{path}: no /model group (not an hkam trace or training file)")
        m = f["model"]
        kind = _text(m.attrs.get("kind", ""))
        if kind not in ("hopfield", "kuramoto", "hopfield_kuramoto"):
            raise ValueError(f"{path}: a {kind!r} model has no Python binding yet "
                             "(hopfield, kuramoto and hopfield_kuramoto do)")
        kw = {}
        if "hopfield" in m:
            h = m["hopfield"]
            kw.update(W=h["W"][()], b=h["b"][()], lagrangian=_text(h.attrs["lagrangian"]),
                      beta=float(h.attrs["beta"]))
        if "kuramoto" in m:
            k = m["kuramoto"]
            M, D = int(k.attrs["oscillators"]), int(k.attrs["dim"])
            graph = (_core().Graph.complete(M) if _text(k.attrs["graph"]) == "complete"
                     else _core().Graph.from_edges(M, k["edges"][()].astype(np.int64)))
            kw.update(oscillators=M, dim=D, graph=graph, potential=_text(k.attrs["potential"]),
                      A=k["A"][()], B=k["B"][()] if "B" in k else None,
                      omega=k["omega"][()] if "omega" in k else None)
            if "stimulus" in k:
                raise ValueError(f"{path}: an oscillator stimulus has no Python binding yet")
        if "coupling" in m:
            c = m["coupling"]
            n = len(kw["b"])
            if "pairing" in c and c["pairing"].size and \
                    not np.array_equal(c["pairing"][()], np.arange(n)):
                raise ValueError(f"{path}: only the identity pairing has a Python binding")
            graph = (_core().Graph.complete(n) if _text(c.attrs["graph"]) == "complete"
                     else _core().Graph.from_edges(n, c["edges"][()].astype(np.int64)))
            kw.update(coupling=_text(c.attrs["kind"]), coupling_graph=graph,
                      alpha=float(c.attrs.get("alpha", 0.0)),
                      weights=c["weights"][()] if "weights" in c else None,
                      kappa_h=float(c.attrs["kappa_h"]), kappa_k=float(c.attrs["kappa_k"]))
    return HopfieldKuramoto(**kw)
