"""The REML engine of every linear mixed model in the core (lme4 / lmerTest definitions).

One engine fits::

    y = X beta + Z_1 b_1 + ... + Z_r b_r + e,    b_j ~ N(0, sigma^2 theta_j^2 I),  e ~ N(0, sigma^2 I)

where each Z_j holds the 0/1 indicators of a grouping factor (a random intercept) and every factor is nested in
the first one (patient; patient:period; ...), so Z'Z is block diagonal over the levels of the first factor. The
crossover AUC model is ``r = 1`` (``(1 | patient)``, :mod:`ketapain_core.crossover`); the daily-data model is
``r = 2`` (``(1 | patient) + (1 | patient:period)``, :func:`ketapain_core.sensitivity.daily_model`).

With ``G = diag(theta^2)`` on the columns of a block and ``C = (I + G Z'Z)^-1``, the marginal precision is
``Sigma^-1 = I - Z B Z'`` with ``B = C G``, and ``dB / d theta_j^2 = C E_j C'`` (``E_j`` the 0/1 diagonal of
factor j's columns). Every piece of the REML criterion (log|I + G Z'Z|, X' Sigma^-1 X, the residual sum of
squares) is a sum over blocks of ``B`` contracted with per-block sufficient statistics, and so are its first and
second derivatives in theta, which are computed analytically. Blocks with the same column layout and the same
Z'Z share one C, so with a random intercept only (blocks of one column, Z'Z = the patient's number of rows) an
evaluation costs a few p x p sums per distinct number of rows, whatever the number of patients.

The criterion is lme4's ``REMLcrit``, profiled over sigma and minimised over theta >= 0: for one factor by the
root of its analytic gradient (Brent) inside a bracket from a log grid; for several, from the best point of a
grid by L-BFGS-B polished by Nelder-Mead, a component set to 0 when that is no worse. At the optimum the engine
gives beta, its covariance, the Hessian of the deviance in (theta, sigma) and the Jacobian of cov(beta) in
(theta, sigma) -- what lmerTest computes numerically -- for Satterthwaite's degrees of freedom of a contrast
(:func:`t_test`) and of an F test by lmerTest's eigen-decomposition method (:func:`joint_test`).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np
from scipy import optimize, special

from .design import NotEstimable
from .status import NOT_ESTIMABLE, OK

EIG_TOL = 1e-6           # as lmerTest: Hessian eigenvalues below this count as zero
GRAD_TOL = 1e-6          # a gradient of the REML criterion below this (in absolute value) counts as zero


# --------------------------------------------------------------------------------------------------------------
# Block structure and sufficient statistics
# --------------------------------------------------------------------------------------------------------------
class _Layout:
    """Blocks with one column layout: ``comp[k]`` is the factor of column k of the block.

    ``ztz`` holds the distinct Z'Z blocks (kinds), ``kind`` maps each block to its kind and ``cols`` each
    block's columns to the global random-effect index. The sufficient statistics are either summed per kind
    (T = sum Z'X (x) Z'X, U = sum Z'X (x) Z'y, V = sum Z'y (x) Z'y; ``aggregated``) or kept per block (Z'X, Z'y),
    whichever is smaller.
    """

    def __init__(self, comp: np.ndarray, cols: np.ndarray, ztz_blocks: np.ndarray, ztx: np.ndarray,
                 zty: np.ndarray, aggregate: Optional[bool] = None):
        self.comp = comp
        self.cols = cols
        m, q = cols.shape
        p = ztx.shape[2]
        kinds, kind = np.unique(ztz_blocks.reshape(m, -1), axis=0, return_inverse=True)
        self.kind = kind.reshape(-1)
        self.ztz = kinds.reshape(-1, q, q)
        g = len(self.ztz)
        self.count = np.bincount(self.kind, minlength=g).astype(float)
        self.aggregated = (g * q * p <= m) if aggregate is None else bool(aggregate)
        self.p = p
        if self.aggregated:
            # einsum, not BLAS: a threaded GEMM on a tall thin matrix is slower here than a plain loop
            T = np.stack([np.einsum("mki,mlj->klij", ztx[self.kind == k], ztx[self.kind == k]) for k in range(g)])
            U = np.stack([np.einsum("mki,ml->kli", ztx[self.kind == k], zty[self.kind == k]) for k in range(g)])
            V = np.stack([np.einsum("mk,ml->kl", zty[self.kind == k], zty[self.kind == k]) for k in range(g)])
            # flattened over (kind, k, l), so that a contraction with C is one matrix product
            self.Tf, self.Uf, self.Vf = T.reshape(g * q * q, p * p), U.reshape(g * q * q, p), V.reshape(g * q * q)
        else:
            self.ztx, self.zty = ztx, zty

    def contract(self, Cg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """sum over blocks of Z'X' C Z'X, Z'X' C Z'y and Z'y' C Z'y for C given per kind (..., g, q, q)."""
        lead = Cg.shape[:-3]
        p = self.p
        if self.aggregated:
            Cf = Cg.reshape(-1, self.Tf.shape[0])
            return ((Cf @ self.Tf).reshape(lead + (p, p)), (Cf @ self.Uf).reshape(lead + (p,)),
                    (Cf @ self.Vf).reshape(lead))
        m, q = self.cols.shape
        Cm = Cg[..., self.kind, :, :]                                         # (..., m, q, q)
        W = (Cm @ self.ztx).reshape(-1, m * q, p)                              # C Z'X per block
        w = (Cm @ self.zty[:, :, None]).reshape(-1, m * q)                     # C Z'y per block
        A = self.ztx.reshape(m * q, p)
        return ((A.T @ W).reshape(lead + (p, p)), (w @ A).reshape(lead + (p,)),
                (w @ self.zty.reshape(m * q)).reshape(lead))

    def derivative_terms(self, C: np.ndarray, r: int, second: bool = True) -> tuple[Any, Any, Any, Any]:
        """Per kind: F_j = C E_j C' (= dB / d gam_j, gam = theta^2), tr(C E_j Z'Z), tr(C E_i Z'Z C E_j Z'Z) and
        S_ij = d2B / d gam_i d gam_j = -(C E_i Z'Z F_j + its transpose)."""
        Z = self.ztz
        if Z.shape[1] == 1:                      # one-column blocks (only when r = 1): scalars per kind
            F = (C * C)[None]
            cz = (C * Z)[:, 0, 0]
            return F, cz[None], (cz * cz)[None, None], (-2.0 * Z * C * C * C)[None, None] if second else None
        E = np.array([(self.comp == j).astype(float) for j in range(r)])         # (r, q)
        CE = C[None, :, :, :] * E[:, None, None, :]                               # C E_j: (r, g, q, q)
        F = CE @ np.swapaxes(C, 1, 2)[None]
        P = CE @ Z[None]                                                          # C E_j Z'Z
        tr_p = np.einsum("jgkk->jg", P)
        if not second:
            return F, tr_p, None, None
        trpp = np.einsum("igkl,jglk->ijg", P, P)
        X = CE[:, None] @ Z[None, None] @ F[None]
        return F, tr_p, trpp, -(X + np.swapaxes(X, -1, -2))

    def matrices(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """C = (I + G Z'Z)^-1, B = C G and log|I + G Z'Z| per kind."""
        gam = (theta * theta)[self.comp]                     # (q,)
        Z = self.ztz
        q = Z.shape[1]
        if q == 1:
            den = 1.0 + gam[0] * Z
            C = 1.0 / den
            B = gam[0] / den
            logdet = np.log1p(gam[0] * Z[:, 0, 0])
        else:
            C = np.linalg.inv(np.eye(q) + gam[None, :, None] * Z)
            B = C * gam[None, None, :]
            B = 0.5 * (B + np.swapaxes(B, 1, 2))
            s = np.sqrt(gam)
            logdet = 2.0 * np.log(np.einsum("gkk->gk", np.linalg.cholesky(
                s[None, :, None] * Z * s[None, None, :] + np.eye(q)))).sum(axis=1)
        return {"C": C, "B": B, "logdet": logdet}


@dataclass(frozen=True)
class RemlFit:
    """A REML fit: theta (sd of each random intercept / sigma), sigma, beta and cov(beta), and what the
    Satterthwaite df need: ``vcov_varpar`` (asymptotic covariance of (theta, sigma), twice the inverse Hessian of
    the REML deviance, as lmerTest) and ``jac`` (d cov(beta) / d theta_j, ..., d cov(beta) / d sigma).

    ``residuals`` and ``fitted`` are conditional (on the predicted random effects, lme4's ``residuals`` and
    ``fitted``); ``ranef`` holds the BLUPs per factor, indexed by level code. ``converged`` is False when the
    Hessian has a negative eigenvalue and ``flat`` True when one is close to 0 (``messages`` says which, as
    lmerTest); ``optimizer_success`` says the optimiser stopped at a stationary point (always True for one
    factor, where the optimum is a root of the analytic gradient or the boundary; for several, L-BFGS-B
    reported success or the final gradient is below ``GRAD_TOL`` off the boundary and not negative on it).
    """

    theta: np.ndarray
    sigma: float
    beta: np.ndarray
    vcov: np.ndarray
    reml_criterion: float
    vcov_varpar: np.ndarray
    jac: tuple[np.ndarray, ...]
    hessian_eigen: np.ndarray
    residuals: np.ndarray
    ranef: tuple[np.ndarray, ...]
    fitted: np.ndarray
    converged: bool
    messages: tuple[str, ...]
    flat: bool = False
    optimizer_success: bool = True

    @property
    def variances(self) -> np.ndarray:
        """The variance of each random intercept, sigma^2 theta_j^2."""
        return (self.sigma * self.theta) ** 2


class Reml:
    """The REML criterion of a random-intercept model and its derivatives, as functions of theta.

    Parameters
    ----------
    X : array (N, p)
        Fixed-effects design, full column rank.
    y : array (N,)
        Response.
    factors : sequence of integer arrays (N,)
        Level codes (0, 1, ...) of each grouping factor; every factor after the first must be nested in the
        first (each of its levels within one level of the first).

    Examples
    --------
    >>> X = np.ones((6, 1)); y = np.array([1.0, 2.0, 4.0, 5.0, 7.0, 9.0])
    >>> model = Reml(X, y, [np.array([0, 0, 1, 1, 2, 2])])
    >>> round(model.profiled(np.array([1.0])), 6)
    24.32982
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, factors: Sequence[np.ndarray],
                 _aggregate: Optional[bool] = None):
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        self.X, self.y = X, y
        self.N, self.p = X.shape
        self.factors = [np.asarray(f, dtype=np.int64) for f in factors]
        if not self.factors:
            raise ValueError("at least one grouping factor is needed")
        self.r = len(self.factors)
        self.n_levels = [int(f.max()) + 1 for f in self.factors]
        self.offsets = np.concatenate([[0], np.cumsum(self.n_levels)]).astype(np.int64)
        top = self.factors[0]
        for j, f in enumerate(self.factors[1:], start=1):
            owners = np.unique(np.column_stack([f, top]), axis=0)
            if len(np.unique(owners[:, 0])) < len(owners):
                raise ValueError(f"grouping factor {j + 1} is not nested in the first: crossed random effects "
                                 "are not supported")
        self.XtX = np.einsum("ij,ik->jk", X, X)
        self.Xty = X.T @ y
        self.yty = float(y @ y)
        # Z'X and Z'y of every factor level, stacked in global random-effect order
        ztx = np.vstack([np.column_stack([np.bincount(f, weights=X[:, j], minlength=L) for j in range(self.p)])
                         for f, L in zip(self.factors, self.n_levels)])
        zty = np.concatenate([np.bincount(f, weights=y, minlength=L) for f, L in zip(self.factors, self.n_levels)])
        self.layouts = [_Layout(comp, cols, ztz, ztx[cols], zty[cols], _aggregate)
                        for comp, cols, ztz in self._blocks()]

    def _blocks(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(layout, columns per block, Z'Z per block) for each column layout of the blocks."""
        top = self.factors[0]
        n = np.bincount(top, minlength=self.n_levels[0])
        present = np.flatnonzero(n > 0)
        if self.r == 1:
            return [(np.zeros(1, dtype=np.int64), present[:, None], n[present].astype(float)[:, None, None])]
        order = np.argsort(top, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(n)])
        groups: dict[tuple[int, ...], tuple[list, list]] = {}
        for i in present:
            rows = order[bounds[i]:bounds[i + 1]]
            cols, comp, Zi = [self.offsets[0] + i], [0], [np.ones(len(rows))]
            for j in range(1, self.r):
                lv, inv = np.unique(self.factors[j][rows], return_inverse=True)
                cols.extend(self.offsets[j] + lv)
                comp.extend([j] * len(lv))
                Zi.extend((inv == k).astype(float) for k in range(len(lv)))
            Zi_mat = np.column_stack(Zi)
            entry = groups.setdefault(tuple(comp), ([], []))
            entry[0].append(cols)
            entry[1].append(Zi_mat.T @ Zi_mat)
        return [(np.array(comp), np.array(c, dtype=np.int64), np.array(z)) for comp, (c, z) in groups.items()]

    # ---------------------------------------------------------------------------------------------------------
    def solve(self, theta: np.ndarray) -> dict[str, Any]:
        """beta, X' Sigma^-1 X (``M``, in units of sigma^2), the residual sum of squares ``Q`` and the log
        determinants at theta."""
        theta = np.atleast_1d(np.asarray(theta, dtype=float))
        M = self.XtX.copy()
        u = self.Xty.copy()
        yy = self.yty
        ld_a = 0.0
        mats = []
        for lay in self.layouts:
            mt = lay.matrices(theta)
            mats.append(mt)
            TB, UB, VB = lay.contract(mt["B"])
            M -= TB
            u -= UB
            yy -= float(VB)
            ld_a += float(lay.count @ mt["logdet"])
        L = np.linalg.cholesky(M)
        beta = np.linalg.solve(M, u)
        Q = yy - float(u @ beta)
        logdetM = 2.0 * float(np.log(np.diag(L)).sum())
        return {"M": M, "beta": beta, "Q": max(Q, 0.0), "logdetM": logdetM, "logdetA": ld_a, "mats": mats}

    def profiled(self, theta: Any) -> float:
        """REML criterion (-2 log restricted likelihood) profiled over sigma, as lme4's REMLcrit.

        Raises
        ------
        NotEstimable
            When the fit is exact (no residual variance), kind ``exact_fit``.
        """
        return self._criterion(self.solve(theta))

    def _criterion(self, s: dict[str, Any]) -> float:
        dfr = self.N - self.p
        if not s["Q"] > 1e-10 * self.yty:  # an exact fit: log(0) below, and no residual variance to test against
            raise NotEstimable("the model fits the values exactly (no residual variation, e.g. every "
                               "patient-period has the same AUC or the same difference between arms), so there "
                               "is no variance to compute standard errors or P values from", kind="exact_fit")
        return s["logdetA"] + s["logdetM"] + dfr * (1.0 + math.log(2.0 * math.pi * s["Q"] / dfr))

    def derivatives(self, theta: Any, order: int = 2, in_gamma: bool = False) -> dict[str, Any]:
        """First (and with ``order = 2`` second) derivatives of the pieces of the REML deviance, in theta or,
        with ``in_gamma``, in gamma = theta^2 (smooth at the boundary theta = 0, where every theta-derivative
        vanishes).

        ``ld1`` / ``ld2``: of log|I + G Z'Z| + log|M|; ``Q1`` / ``Q2``: of the residual sum of squares;
        ``M1[j]``: of M.
        """
        theta = np.atleast_1d(np.asarray(theta, dtype=float))
        s = self.solve(theta)
        r, p = self.r, self.p
        second = order >= 2
        beta = s["beta"]
        Minv = np.linalg.inv(s["M"])
        la1, la2 = np.zeros(r), np.zeros((r, r))
        T1, U1, V1 = np.zeros((r, p, p)), np.zeros((r, p)), np.zeros(r)
        T2, U2, V2 = np.zeros((r, r, p, p)), np.zeros((r, r, p)), np.zeros((r, r))
        for lay, mt in zip(self.layouts, s["mats"]):
            F, tr_p, trpp, S = lay.derivative_terms(mt["C"], r, second)    # dB / d gam, d2B / d gam2
            la1 += tr_p @ lay.count
            t, u_, v = lay.contract(F)
            T1 += t; U1 += u_; V1 += v
            if second:
                la2 -= trpp @ lay.count
                t, u_, v = lay.contract(S)
                T2 += t; U2 += u_; V2 += v
        M1 = -T1
        A1 = Minv[None] @ M1
        ld1 = la1 + np.einsum("jkk->j", A1)
        # residual quadratic forms at beta: RR_C = (Z'y - Z'X beta)' C (Z'y - Z'X beta), RS_C = Z'X' C (...)
        Q1 = -(V1 - 2.0 * (U1 @ beta) + np.einsum("jkl,k,l->j", T1, beta, beta))
        if second:
            M2 = -T2
            ld2 = la2 + np.einsum("kl,ijlk->ij", Minv, M2) - np.einsum("ikl,jlk->ij", A1, A1)
            RR2 = V2 - 2.0 * (U2 @ beta) + np.einsum("ijkl,k,l->ij", T2, beta, beta)
            g1 = -(U1 - T1 @ beta)                                                # X' dSigma^-1 r
            Q2 = -RR2 - 2.0 * g1 @ Minv @ g1.T
        if not in_gamma:       # chain rule: d gam / d theta = 2 theta, d2 gam / d theta2 = 2
            tt = 4.0 * np.outer(theta, theta)
            if second:
                ld2, Q2 = tt * ld2 + np.diag(2.0 * ld1), tt * Q2 + np.diag(2.0 * Q1)
            M1, ld1, Q1 = 2.0 * theta[:, None, None] * M1, 2.0 * theta * ld1, 2.0 * theta * Q1
        out = {**s, "Minv": Minv, "M1": M1, "ld1": ld1, "Q1": Q1}
        if second:
            out.update(ld2=ld2, Q2=Q2)
        return out

    def profiled_gradient(self, theta: Any) -> tuple[np.ndarray, np.ndarray]:
        """Gradient and Hessian of :meth:`profiled` in theta."""
        d = self.derivatives(theta)
        dfr = self.N - self.p
        Q = d["Q"]
        g1 = d["ld1"] + dfr * d["Q1"] / Q
        g2 = d["ld2"] + dfr * (d["Q2"] / Q - np.outer(d["Q1"], d["Q1"]) / Q ** 2)
        return g1, g2

    def profiled_slope(self, theta: Any, in_gamma: bool = False) -> np.ndarray:
        """Gradient of :meth:`profiled` in theta (or in gamma = theta^2), first derivatives only."""
        return self.profiled_and_slope(theta, in_gamma)[1]

    def profiled_and_slope(self, theta: Any, in_gamma: bool = False) -> tuple[float, np.ndarray]:
        """:meth:`profiled` and its gradient from one evaluation (the gradient alone does not check for an
        exact fit)."""
        d = self.derivatives(theta, order=1, in_gamma=in_gamma)
        slope = d["ld1"] + (self.N - self.p) * d["Q1"] / d["Q"]
        try:
            value = self._criterion(d)
        except NotEstimable:
            value = math.nan
        return value, slope

    def ranef(self, theta: Any, beta: np.ndarray) -> tuple[np.ndarray, ...]:
        """BLUP of every random intercept (in the response's units), one array per factor by level code:
        B times the block's sums of marginal residuals."""
        theta = np.atleast_1d(np.asarray(theta, dtype=float))
        res = self.y - self.X @ beta
        ztr = np.concatenate([np.bincount(f, weights=res, minlength=L) for f, L in zip(self.factors, self.n_levels)])
        b = np.zeros(len(ztr))
        for lay in self.layouts:
            B = lay.matrices(theta)["B"]
            b[lay.cols] = np.einsum("mkl,ml->mk", B[lay.kind], ztr[lay.cols])
        return tuple(b[self.offsets[j]:self.offsets[j + 1]] for j in range(self.r))


# --------------------------------------------------------------------------------------------------------------
# Minimisation and the fit
# --------------------------------------------------------------------------------------------------------------
def _minimise_1d(model: Reml, lo: float, hi: float) -> float:
    """Minimise the profiled REML criterion of one factor on [lo, hi] (a grid bracket around the best point).

    The minimum is where the analytic gradient crosses zero, found by Brent's root finder to ~1e-12; if the
    gradient does not change sign on the bracket, fall back to bounded minimisation and Newton polishing.
    """
    def grad(t: float) -> tuple[float, float]:
        g1, g2 = model.profiled_gradient(t)
        return float(g1[0]), float(g2[0, 0])

    def slope(t: float) -> float:
        return float(model.profiled_slope(t)[0])

    a = max(lo, 1e-10)
    g_lo = slope(a)
    if lo == 0.0 and g_lo >= 0:
        return 0.0            # the criterion rises from the boundary: theta = 0 (a singular fit)
    g_hi = slope(hi)
    if g_lo < 0 < g_hi:
        return float(optimize.brentq(slope, a, hi, xtol=1e-13, rtol=4 * np.finfo(float).eps))
    res = optimize.minimize_scalar(model.profiled, bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-8, "maxiter": 500})
    theta = float(res.x)
    for _ in range(8):
        g1, g2 = grad(theta)
        if g2 <= 0 or not np.isfinite(g1):
            break
        new = theta - g1 / g2
        if new <= 0 or model.profiled(new) > model.profiled(theta) + 1e-12:
            break
        theta = new
    return theta


def _optimise_1d(model: Reml) -> tuple[np.ndarray, bool]:
    # coarse search on a log grid of theta, then the root of the gradient inside the bracket; a grid point
    # where the criterion degenerates (the fit is exact in that limit) does not decide the fit
    grid = np.concatenate([[0.0], np.logspace(-3, 2.5, 12)])
    vals = np.full(len(grid), np.inf)
    degenerate: Optional[NotEstimable] = None
    for i, t in enumerate(grid):
        try:
            vals[i] = model.profiled(t)
        except NotEstimable as exc:
            degenerate = exc
    if not np.isfinite(vals).any():
        raise degenerate or NotEstimable("the REML criterion could not be evaluated")
    k = int(np.argmin(vals))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    theta = _minimise_1d(model, lo, hi)
    # boundary: the criterion is even in theta, so 0 is optimal when it is no worse than the interior point
    if theta > 0 and model.profiled(0.0) <= model.profiled(theta):
        theta = 0.0
    return np.array([theta]), True


def _optimise_nd(model: Reml) -> tuple[np.ndarray, bool]:
    """Several factors: from the best point of a grid, L-BFGS-B in gamma = theta^2 >= 0 with the analytic
    gradient (in gamma the criterion is smooth at the boundary, where its theta-gradient vanishes), Newton
    polishing of the interior components with the analytic Hessian, and each component at 0 when that is no
    worse."""
    def deviance(theta: np.ndarray) -> float:
        try:
            return model.profiled(np.abs(np.asarray(theta, dtype=float)))
        except NotEstimable:
            return math.inf

    def objective(gam: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.sqrt(np.maximum(gam, 0.0))
        value, slope = model.profiled_and_slope(theta, in_gamma=True)
        return (value, slope) if np.isfinite(value) else (math.inf, np.zeros(model.r))

    grid = [np.array(t) for t in itertools.product((0.0, 0.3, 1.0, 3.0), repeat=model.r)]
    start = min(grid, key=deviance)
    if not np.isfinite(deviance(start)):
        model.profiled(start)            # raises the reason
    res = optimize.minimize(objective, start ** 2, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * model.r,
                            options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 2000})
    theta = np.sqrt(np.maximum(res.x, 0.0))
    # Newton in theta on the components off the boundary, to the root of the analytic gradient (as the 1-factor
    # case): near the optimum the criterion's own differences are rounding noise (~1e-11), its gradient is not;
    # a step must shrink the gradient and may not raise the criterion beyond that noise
    g1, g2 = model.profiled_gradient(theta)
    for _ in range(20):
        free = theta > 0
        if not free.any() or not np.all(np.isfinite(g1)):
            break
        Hf = g2[np.ix_(free, free)]
        if np.any(np.linalg.eigvalsh(Hf) <= 0):
            break
        new = theta.copy()
        new[free] = theta[free] - np.linalg.solve(Hf, g1[free])
        if np.any(new[free] <= 0):
            break
        f0 = deviance(theta)
        n1, n2 = model.profiled_gradient(new)
        if (np.linalg.norm(n1[free]) >= np.linalg.norm(g1[free])
                or deviance(new) > f0 + 1e-9 * max(1.0, abs(f0))):
            break
        theta, g1, g2 = new, n1, n2
    for j in range(model.r):        # the boundary: a component at 0 when that is no worse
        t0 = theta.copy(); t0[j] = 0.0
        if deviance(t0) <= deviance(theta) + 1e-10:
            theta = t0
    # converged: the optimiser says so, or the optimum is stationary (L-BFGS-B often stops on a line search at
    # the precision limit): the gradient is ~0 in the free components and does not point into theta < 0
    try:
        g_gam = model.profiled_slope(theta, in_gamma=True)
    except (np.linalg.LinAlgError, FloatingPointError):
        g_gam = np.full(model.r, math.nan)
    free = theta > 0
    stationary = bool(np.all(np.abs(2.0 * theta[free] * g_gam[free]) <= GRAD_TOL)
                      and np.all(g_gam[~free] >= -GRAD_TOL))
    return theta, bool(res.success) or stationary


def fit_reml(X: np.ndarray, y: np.ndarray, factors: Sequence[np.ndarray],
             _aggregate: Optional[bool] = None) -> RemlFit:
    """Fit y = X beta + random intercepts of ``factors`` + e by REML, as lme4's ``lmer``.

    Parameters
    ----------
    X : array (N, p)
        Fixed-effects design of full column rank (drop aliased columns first, as
        :func:`ketapain_core.design.build_design` does).
    y : array (N,)
        Response.
    factors : sequence of integer arrays (N,)
        Level codes of each grouping factor, the first outermost (patient), the others nested in it.

    Returns
    -------
    RemlFit

    Raises
    ------
    NotEstimable
        No residual degrees of freedom (``no_residual_df``), an exact fit (``exact_fit``) or non-finite
        estimates.

    Examples
    --------
    A balanced one-way layout: REML gives the ANOVA estimates (sigma^2 = MSW = 1, var(group) =
    (MSB - MSW) / n = (19 - 1) / 3) and the Satterthwaite df of the grand mean is the number of groups - 1.

    >>> y = np.array([3.0, 5.0, 4.0, 9.0, 8.0, 10.0, 6.0, 5.0, 7.0])
    >>> g = np.repeat([0, 1, 2], 3)
    >>> fit = fit_reml(np.ones((9, 1)), y, [g])
    >>> [round(float(v), 6) for v in fit.variances], round(fit.sigma ** 2, 6)
    ([6.0], 1.0)
    >>> round(satterthwaite_df(fit, np.array([1.0])), 6)
    2.0
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    N, p = X.shape
    if N - p <= 0:
        raise NotEstimable(f"{N} values for {p} fixed effects: no residual degrees of freedom left",
                           kind="no_residual_df")
    model = Reml(X, y, factors, _aggregate)
    theta, success = _optimise_1d(model) if model.r == 1 else _optimise_nd(model)
    crit = model.profiled(theta)
    d = model.derivatives(theta)
    r, dfr = model.r, N - p
    sigma2 = d["Q"] / dfr
    sigma = math.sqrt(sigma2)
    Minv = d["Minv"]
    vcov = sigma2 * Minv
    # Hessian of the REML deviance in (theta, sigma), as lmerTest's numerical one
    H = np.zeros((r + 1, r + 1))
    H[:r, :r] = d["ld2"] + d["Q2"] / sigma2
    H[:r, r] = H[r, :r] = -2.0 * d["Q1"] / sigma ** 3
    H[r, r] = -2.0 * dfr / sigma2 + 6.0 * d["Q"] / sigma2 ** 2
    evals, evecs = np.linalg.eigh(H)
    messages: list[str] = []
    converged = True
    if np.any(evals < -EIG_TOL):
        converged = False
        messages.append(f"Model failed to converge with {int(np.sum(evals < -EIG_TOL))} negative "
                        "eigenvalue(s) of the Hessian")
    flat = bool(np.any(np.abs(evals) <= EIG_TOL))
    if flat:
        messages.append(f"Model may not have converged with {int(np.sum(np.abs(evals) <= EIG_TOL))} "
                        "eigenvalue(s) of the Hessian close to zero")
    pos = evals > EIG_TOL
    h_inv = (evecs[:, pos] / evals[pos]) @ evecs[:, pos].T
    vcov_varpar = 2.0 * h_inv
    jac = tuple(-sigma2 * Minv @ d["M1"][j] @ Minv for j in range(r)) + (2.0 * sigma * Minv,)
    beta = d["beta"]
    b = model.ranef(theta, beta)
    fitted = X @ beta + sum(bj[f] for bj, f in zip(b, model.factors))
    if not np.isfinite(crit) or not np.all(np.isfinite(beta)):
        raise NotEstimable("the REML fit did not give finite estimates")
    return RemlFit(theta=theta, sigma=sigma, beta=beta, vcov=vcov, reml_criterion=crit, vcov_varpar=vcov_varpar,
                   jac=jac, hessian_eigen=evals, residuals=y - fitted, ranef=b, fitted=fitted, converged=converged,
                   messages=tuple(messages), flat=flat, optimizer_success=success)


# --------------------------------------------------------------------------------------------------------------
# Tests and contrasts (lmerTest definitions)
# --------------------------------------------------------------------------------------------------------------
def satterthwaite_df(fit: RemlFit, L: np.ndarray) -> float:
    """Satterthwaite's df of the contrast L'beta: 2 var^2 / (grad' cov(theta, sigma) grad), with grad the
    derivative of var(L'beta) in (theta, sigma) (lmerTest's ``contest1D``); infinite when the denominator is
    not positive (e.g. a boundary fit with a flat criterion)."""
    var = float(L @ fit.vcov @ L)
    grad = np.array([float(L @ J @ L) for J in fit.jac])
    denom = float(grad @ fit.vcov_varpar @ grad)
    if denom <= 0:
        return math.inf
    return 2.0 * var * var / denom


def _fstat_ddf(nu: np.ndarray, tol: float = 1e-8) -> float:
    """lmerTest's get_Fstat_ddf."""
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2.0)))
    return 2.0 * E / (E - len(nu))


@dataclass(frozen=True)
class JointTest:
    """A joint test of several coefficients: Wald chi-square (as Stata) and F with Satterthwaite df."""

    terms: tuple[str, ...]
    chi2: float
    df: int
    p_chi2: float
    f: float
    num_df: int
    den_df: float
    p_f: float
    estimable: bool = True
    reason: str = ""

    @property
    def status(self) -> str:
        """"ok" or "not estimable" (ketapain_core.status); ``reason`` says why not."""
        return OK if self.estimable else NOT_ESTIMABLE

    def to_dict(self) -> dict[str, Any]:
        return {"chi2": self.chi2, "df": self.df, "p_chi2": self.p_chi2, "f": self.f, "num_df": self.num_df,
                "den_df": self.den_df, "p_f": self.p_f, "estimable": self.estimable, "reason": self.reason}

    @classmethod
    def not_estimable(cls, terms: Sequence[str], df: int, reason: str) -> "JointTest":
        """A test that cannot be computed: every number NaN, with the reason."""
        nan = math.nan
        return cls(tuple(terms), nan, df, nan, nan, df, nan, nan, estimable=False, reason=reason)


def joint_test(fit: RemlFit, L: np.ndarray, terms: Sequence[str]) -> JointTest:
    """Joint test of L beta = 0: the Wald chi-square, and F with lmerTest's denominator df (``contestMD``:
    the eigen-decomposition of L cov(beta) L' into independent 1-df contrasts, their Satterthwaite df combined
    by ``get_Fstat_ddf``).

    >>> y = np.array([3.0, 5.0, 4.0, 9.0, 8.0, 10.0, 6.0, 5.0, 7.0])
    >>> fit = fit_reml(np.ones((9, 1)), y, [np.repeat([0, 1, 2], 3)])
    >>> t = joint_test(fit, np.array([[1.0]]), ["(Intercept)"])
    >>> t.num_df, round(t.den_df, 6), round(t.f, 4)
    (1, 2.0, 19.0)
    """
    L = np.atleast_2d(L)
    beta, V = fit.beta, fit.vcov
    Lb = L @ beta
    VL = L @ V @ L.T
    chi2 = float(Lb @ np.linalg.solve(VL, Lb))
    q = L.shape[0]
    p_chi2 = float(special.chdtrc(q, chi2))
    evals, P = np.linalg.eigh(VL)
    order = np.argsort(evals)[::-1]
    evals, P = evals[order], P[:, order]
    tol = max(np.finfo(float).eps ** 0.5 * evals[0], 0.0)
    pos = evals > tol
    qr = int(pos.sum())
    PtL = P[:, :qr].T @ L
    t2 = (PtL @ beta) ** 2 / evals[:qr]
    F = float(t2.sum() / qr)
    nu = np.array([satterthwaite_df(fit, PtL[m]) for m in range(qr)])
    ddf = _fstat_ddf(nu)
    p_f = float(special.fdtrc(qr, ddf, F))
    return JointTest(tuple(terms), chi2, q, p_chi2, F, qr, ddf, p_f)


def t_test(fit: RemlFit, L: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """The contrast L'beta: estimate, se, Satterthwaite df, t, two-sided P and the confidence interval.

    >>> y = np.array([3.0, 5.0, 4.0, 9.0, 8.0, 10.0, 6.0, 5.0, 7.0])
    >>> fit = fit_reml(np.ones((9, 1)), y, [np.repeat([0, 1, 2], 3)])
    >>> r = t_test(fit, np.array([1.0]))
    >>> round(r["estimate"], 6), round(r["se"], 6), round(r["df"], 6)
    (6.333333, 1.452966, 2.0)
    """
    est = float(L @ fit.beta)
    se = math.sqrt(max(float(L @ fit.vcov @ L), 0.0))
    df = satterthwaite_df(fit, L)
    t = est / se if se > 0 else math.nan
    p = float(2.0 * special.stdtr(df, -abs(t))) if se > 0 else math.nan
    q = float(special.stdtrit(df, 0.5 + level / 2.0))
    return {"estimate": est, "se": se, "df": df, "t": t, "p": p, "ci_low": est - q * se, "ci_high": est + q * se}


__all__ = ["EIG_TOL", "GRAD_TOL", "Reml", "RemlFit", "fit_reml", "satterthwaite_df", "JointTest", "joint_test", "t_test"]
