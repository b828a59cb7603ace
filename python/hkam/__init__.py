"""hkam from Python: Hopfield-Kuramoto associative memories with audited energies.

Build models from numpy arrays, evaluate energies, right-hand sides and vector-Jacobian
products (one state or a batch), integrate batches with the energy audit, and take gradients
through a solve - with hkam's C++ core underneath (docs/python.md).

States are float64 arrays of shape (dim,) for one trajectory or (B, dim) for a batch; a row is
[x (N units); sigma_0 ... sigma_{M-1} (M oscillators of dimension D, unit vectors)].

>>> import numpy as np, hkam
>>> m = hkam.Hopfield(W=np.eye(3), b=np.zeros(3), lagrangian="tanh")
>>> sol = hkam.simulate(m, np.array([0.5, -0.2, 0.1]), t_end=2.0)
>>> sol.audit.monotone
True
"""

import numpy as np

from . import _hkam
from ._hkam import Graph, Params  # noqa: F401

__version__ = _hkam.__version__
__all__ = ["Graph", "Params", "Model", "Hopfield", "Kuramoto", "HopfieldKuramoto", "Solution",
           "Audit", "Interrupted", "simulate", "gradient", "random_state", "load_model"]


def _vec(v, n=None, name="array"):
    a = np.asarray(v if v is not None else [], dtype=np.float64).ravel()
    if n is not None and a.size not in (n,):
        raise ValueError(f"{name}: expected {n} values, got {a.size}")
    return a


class Model:
    """A Hopfield-Kuramoto model (HK1)-(HK4) with identity pairing (docs/models.md).

    Build it with `Hopfield`, `Kuramoto` or `HopfieldKuramoto`. Methods take one state (dim,)
    or a batch (B, dim):

    - energy(z) -> float or (B,): E = kappa_H E_H + kappa_K E_K + E_HK;
    - energy_parts(z) -> dict of the named parts of one state;
    - rhs(z) -> dz/dt;
    - vjp(z, v) -> (zbar, grads): zbar = (df/dz)^T v per row, and grads, a dict of the
      parameter gradients sum_b (df/dtheta)^T v_b named like the parameters
      ("hopfield.w", "kuramoto.a", "coupling.alpha", ...);
    - lyapunov() -> (guaranteed, reason, warnings): whether E provably never increases along
      the exact flow, and why not.

    Attributes: dim, units (N), oscillators (M), osc_dim (D), params (the Params).
    """

    def __init__(self, params):
        self.params = params
        self._m = _hkam.Model(params)  # ValueError with Params.validate()'s text when invalid

    dim = property(lambda self: self._m.dim)
    units = property(lambda self: self._m.units)
    oscillators = property(lambda self: self._m.oscillators)
    osc_dim = property(lambda self: self._m.osc_dim)

    def energy(self, z):
        return self._m.energy(z)

    def energy_parts(self, z):
        return self._m.energy_parts(np.asarray(z, dtype=np.float64))

    def rhs(self, z):
        return self._m.rhs(z)

    def vjp(self, z, v):
        return self._m.vjp(z, v)

    def lyapunov(self):
        return self._m.lyapunov()

    def __repr__(self):
        return (f"<hkam.Model N={self.units} M={self.oscillators} D={self.osc_dim} "
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
    p = _hkam.Params()
    n = 0 if b is None else np.asarray(b).size
    if n:
        Wa = np.asarray(W, dtype=np.float64)
        if Wa.shape != (n, n):
            raise ValueError(f"W: expected shape ({n}, {n}) for {n} units, got {Wa.shape}")
        p.set_hopfield(Wa, _vec(b), lagrangian, float(beta))
    if oscillators:
        if graph is None:
            graph = Graph.complete(oscillators)
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
    """The energy audit of a solve: every increase of a trajectory's energy between recorded
    steps beyond relative_tolerance * max(|E|, 1) is a violation (docs/models.md, the audit)."""

    def __init__(self, d):
        self.monotone = bool(d["monotone"])
        self.violations = int(d["violations"])
        self.checked = int(d["checked"])
        self.max_increase = float(d["max_increase"])
        self.relative_tolerance = float(d["relative_tolerance"])
        self.text = d["text"]

    def __repr__(self):
        return (f"<hkam.Audit {'monotone' if self.monotone else 'NOT monotone'}: "
                f"{self.violations} violations in {self.checked} steps, {self.text}>")


class Solution:
    """What simulate returns: t (T,), z (T, dim) or (T, B, dim), energy (T,) or (T, B) at the
    recorded steps; audit (an Audit); end_reason ("t_end", "max_steps", "step_collapse",
    "non_finite", "interrupted"); steps, rejected, evaluations."""

    def __init__(self, d):
        single = d["single"]
        self.t = d["t"]
        self.z = d["z"][:, 0, :] if single else d["z"]
        self.energy = d["energy"][:, 0] if single else d["energy"]
        self.audit = Audit(d["audit"])
        self.end_reason = d["end_reason"]
        self.steps, self.rejected, self.evaluations = d["steps"], d["rejected"], d["evaluations"]

    def __repr__(self):
        return (f"<hkam.Solution {len(self.t)} recorded steps to t = {self.t[-1]:g}, "
                f"{self.end_reason}, {self.audit!r}>")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during simulate: `.solution` holds what was computed up to that moment."""

    def __init__(self, solution):
        super().__init__("simulate interrupted (the partial result is in .solution)")
        self.solution = solution


def simulate(model, z0, t_end, stepper="dopri5", rtol=1e-6, atol=1e-9, dt=0.0,
             max_steps=1_000_000, normalize=True, record_every=1, audit_factor=100.0, t0=0.0):
    """Integrates z0 (one state (dim,) or a batch (B, dim)) from t0 to t_end.

    stepper: "dopri5" (adaptive, rtol/atol; dt is the first step, 0 = automatic), "rk4",
    "euler" or "akorn" (fixed step dt). A batch takes one step size for all its trajectories
    (the error of the worst). normalize renormalises the oscillators after every step.
    Every record_every-th accepted step is recorded with its energies; the audit checks them
    (tolerance audit_factor * rtol relative, for adaptive steppers). Returns a Solution; Ctrl-C
    raises Interrupted with the partial Solution.
    """
    d = _hkam.simulate(model._m, z0, float(t_end), stepper, float(rtol), float(atol), float(dt),
                       int(max_steps), bool(normalize), int(record_every), float(audit_factor),
                       float(t0))
    sol = Solution(d)
    if d["keyboard_interrupt"]:
        raise Interrupted(sol)
    return sol


def gradient(model, z0, dloss, t_end, stepper="dopri5", rtol=1e-6, atol=1e-9, dt=0.0,
             max_steps=1_000_000, normalize=True, t0=0.0):
    """Reverse-mode gradient through a solve (discretise-then-optimise: the exact gradient of
    the computed solution, docs/gradients.md). dloss = dL/dz(t_end) (same shape as z0).

    Returns (z_end, dz0, grads): the final state, dL/dz0 and a dict of dL/dtheta summed over
    the batch, named like the parameters ("hopfield.w", "kuramoto.a", "coupling.alpha", ...).
    """
    return _hkam.gradient(model._m, z0, dloss, float(t_end), stepper, float(rtol), float(atol),
                          float(dt), int(max_steps), bool(normalize), float(t0))


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
            graph = (Graph.complete(M) if _text(k.attrs["graph"]) == "complete"
                     else Graph.from_edges(M, k["edges"][()].astype(np.int64)))
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
            graph = (Graph.complete(n) if _text(c.attrs["graph"]) == "complete"
                     else Graph.from_edges(n, c["edges"][()].astype(np.int64)))
            kw.update(coupling=_text(c.attrs["kind"]), coupling_graph=graph,
                      alpha=float(c.attrs.get("alpha", 0.0)),
                      weights=c["weights"][()] if "weights" in c else None,
                      kappa_h=float(c.attrs["kappa_h"]), kappa_k=float(c.attrs["kappa_k"]))
    return HopfieldKuramoto(**kw)
