"""Gaussian-process math for ``gp.suggest``: pure numpy/scipy, arrays in, arrays out.

- :func:`matern52` is the Matérn-5/2 kernel with one length scale per input dimension (ARD);
  inputs live in ``[0, 1]^d``.
- :func:`neg_log_posterior` is the negative log marginal likelihood of standardised targets plus
  log-normal priors on the hyperparameters, with its exact gradient; :func:`fit` minimises it
  with L-BFGS-B from several starting points and returns a :class:`GP`.
- :meth:`GP.predict` gives the posterior mean and variance of the latent function (and their
  gradients with respect to the inputs); :meth:`GP.condition` adds pseudo-observations with the
  same hyperparameters (for kriging-believer / constant-liar batches).
- :func:`log_ei` is the logarithm of expected improvement for minimisation, computed stably even
  where EI underflows (Ament et al., "Unexpected Improvements to Expected Improvement", 2023).

Cost: fitting is O(n^3) per likelihood evaluation (one Cholesky and one inverse of an n x n
matrix) plus O(n^2 d) for the gradient; predicting m points is O(m n d + m n^2).

scipy is imported inside the functions that need it, so importing this module stays cheap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "GP",
    "Prior",
    "DEFAULT_PRIOR",
    "fit",
    "log_ei",
    "log_ei_grad_z",
    "log_ei_with_grad",
    "matern52",
    "matern52_grad_x",
    "neg_log_posterior",
]

_SQRT5 = math.sqrt(5.0)
#: Added to the diagonal on top of the fitted noise, for a numerically safe Cholesky.
_JITTER = 1e-8
#: Bounds of the log hyperparameters during fitting: length scales, signal variance, noise.
_LOG_LS_BOUNDS = (math.log(1e-2), math.log(1e3))
_LOG_SF2_BOUNDS = (math.log(1e-2), math.log(1e2))
_LOG_NOISE_BOUNDS = (math.log(1e-6), math.log(1.0))
#: L-BFGS-B iteration cap per start; fits converge well before this on standardised data.
_FIT_MAXITER = 200


def _scaled_sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d2, 0.0)


def matern52(x1: np.ndarray, x2: np.ndarray, lengthscales: np.ndarray, signal: float) -> np.ndarray:
    """Kernel matrix ``k(x1[i], x2[j]) = signal * (1 + s5 r + 5/3 r^2) exp(-s5 r)``, ``s5 = sqrt(5)``,
    where ``r`` is the distance after dividing each dimension by its length scale."""
    r = np.sqrt(_scaled_sqdist(x1 / lengthscales, x2 / lengthscales))
    return signal * (1.0 + _SQRT5 * r + (5.0 / 3.0) * r * r) * np.exp(-_SQRT5 * r)


def _matern52_g(r: np.ndarray, signal: float) -> np.ndarray:
    """``-dk/dr / r``: the common factor of every derivative of the Matérn-5/2 kernel."""
    return signal * (5.0 / 3.0) * (1.0 + _SQRT5 * r) * np.exp(-_SQRT5 * r)


def matern52_grad_x(x: np.ndarray, data: np.ndarray, lengthscales: np.ndarray, signal: float) -> np.ndarray:
    """``out[i, j, :] = d k(x[i], data[j]) / d x[i]``, shape ``(m, n, d)``."""
    r = np.sqrt(_scaled_sqdist(x / lengthscales, data / lengthscales))
    g = _matern52_g(r, signal)
    diff = (x[:, None, :] - data[None, :, :]) / (lengthscales * lengthscales)
    return -g[:, :, None] * diff


@dataclass(frozen=True)
class Prior:
    """Independent normal priors on the log hyperparameters (means and standard deviations)."""

    log_ls_mean: float
    log_ls_sd: float
    log_sf2_mean: float
    log_sf2_sd: float
    log_noise_mean: float
    log_noise_sd: float

    def mean_vector(self, d: int) -> np.ndarray:
        return np.concatenate([np.full(d, self.log_ls_mean), [self.log_sf2_mean, self.log_noise_mean]])

    def sd_vector(self, d: int) -> np.ndarray:
        return np.concatenate([np.full(d, self.log_ls_sd), [self.log_sf2_sd, self.log_noise_sd]])


#: Priors for inputs in the unit cube and standardised targets.
#:
#: Length scales: LogNormal(-0.5, 0.7), median 0.6 and 95% within [0.15, 2.4] whatever the
#: dimension. Short enough that the model stays unsure away from its data and keeps exploring
#: (the dimension-scaled LogNormal(sqrt(2) + log(d) / 2, sqrt(3)) of Hvarfner et al. (2024), with
#: medians near 10 in 6 to 14 dimensions, let the fit call whole coordinates irrelevant after a
#: few dozen trials and then exploit one basin: see docs/algorithms.md). Signal variance:
#: LogNormal(0, 1) around the standardised variance. Noise variance: LogNormal(-10, 3), wide
#: and low, because objectives are often deterministic and a noise floor of 1e-2 of the
#: variance blurs the last digits near an optimum.
DEFAULT_PRIOR = Prior(
    log_ls_mean=-0.5,
    log_ls_sd=0.7,
    log_sf2_mean=0.0,
    log_sf2_sd=1.0,
    log_noise_mean=-10.0,
    log_noise_sd=3.0,
)


def neg_log_posterior(theta: np.ndarray, x: np.ndarray, y: np.ndarray, prior: Prior) -> tuple[float, np.ndarray]:
    """Negative log marginal likelihood plus negative log prior, and its gradient in ``theta``.

    ``theta = [log length scales (d), log signal variance, log noise variance]``.
    """
    from scipy.linalg import cho_solve, cholesky

    n, d = x.shape
    ls = np.exp(theta[:d])
    sf2 = math.exp(theta[d])
    noise = math.exp(theta[d + 1])
    z = x / ls
    r = np.sqrt(_scaled_sqdist(z, z))
    e = np.exp(-_SQRT5 * r)
    kf = sf2 * (1.0 + _SQRT5 * r + (5.0 / 3.0) * r * r) * e
    k = kf + (noise + _JITTER) * np.eye(n)
    try:
        chol = cholesky(k, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return 1e25, np.zeros_like(theta)
    alpha = cho_solve((chol, True), y, check_finite=False)
    nll = 0.5 * float(y @ alpha) + float(np.sum(np.log(np.diag(chol)))) + 0.5 * n * math.log(2 * math.pi)
    k_inv = cho_solve((chol, True), np.eye(n), check_finite=False)
    w = np.outer(alpha, alpha) - k_inv
    grad = np.empty_like(theta)
    m = w * (sf2 * (5.0 / 3.0) * (1.0 + _SQRT5 * r) * e)
    # sum_ab m_ab (z_a - z_b)^2 per dimension, with m symmetric.
    grad[:d] = -0.5 * (2.0 * (m.sum(axis=1) @ (z * z)) - 2.0 * np.sum(z * (m @ z), axis=0))
    grad[d] = -0.5 * float(np.sum(w * kf))
    grad[d + 1] = -0.5 * noise * float(np.trace(w))
    mean, sd = prior.mean_vector(d), prior.sd_vector(d)
    dev = (theta - mean) / sd
    return nll + 0.5 * float(dev @ dev), grad + dev / sd


@dataclass(frozen=True)
class GP:
    """A fitted GP: data, hyperparameters and the Cholesky factor of the training covariance."""

    x: np.ndarray
    y: np.ndarray
    lengthscales: np.ndarray
    signal: float
    noise: float
    chol: np.ndarray
    alpha: np.ndarray

    @classmethod
    def build(cls, x: np.ndarray, y: np.ndarray, lengthscales: np.ndarray, signal: float, noise: float) -> GP:
        from scipy.linalg import cho_solve, cholesky

        k = matern52(x, x, lengthscales, signal) + (noise + _JITTER) * np.eye(len(x))
        chol = cholesky(k, lower=True, check_finite=False)
        alpha = cho_solve((chol, True), y, check_finite=False)
        return cls(x, y, lengthscales, signal, noise, chol, alpha)

    def condition(self, x_new: np.ndarray, y_new: np.ndarray) -> GP:
        """The same GP with ``(x_new, y_new)`` appended to its data (hyperparameters kept)."""
        return GP.build(
            np.vstack([self.x, x_new]), np.concatenate([self.y, y_new]), self.lengthscales, self.signal, self.noise
        )

    def predict(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the latent function at ``xs`` (shape ``(m, d)``)."""
        from scipy.linalg import solve_triangular

        ks = matern52(xs, self.x, self.lengthscales, self.signal)
        mean = ks @ self.alpha
        v = solve_triangular(self.chol, ks.T, lower=True, check_finite=False)
        var = np.maximum(self.signal - np.sum(v * v, axis=0), 1e-12)
        return mean, var

    def predict_with_grad(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean, variance and their gradients ``(m, d)`` with respect to ``xs``."""
        from scipy.linalg import cho_solve

        ks = matern52(xs, self.x, self.lengthscales, self.signal)
        mean = ks @ self.alpha
        kinv_ks = cho_solve((self.chol, True), ks.T, check_finite=False)  # (n, m)
        var_raw = self.signal - np.sum(ks.T * kinv_ks, axis=0)
        var = np.maximum(var_raw, 1e-12)
        dk = matern52_grad_x(xs, self.x, self.lengthscales, self.signal)  # (m, n, d)
        dmean = np.einsum("mnd,n->md", dk, self.alpha)
        dvar = -2.0 * np.einsum("mnd,nm->md", dk, kinv_ks)
        dvar[var_raw <= 1e-12] = 0.0
        return mean, var, dmean, dvar


def fit(
    x: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator,
    *,
    n_restarts: int = 2,
    prior: Prior | None = None,
    init: np.ndarray | None = None,
) -> GP:
    """Fit hyperparameters by maximising the posterior (marginal likelihood times priors).

    Starts from the prior's mean, ``init`` when given, and ``n_restarts`` draws from the prior;
    keeps the best. ``y`` should be standardised (zero mean, unit variance).
    """
    from scipy.optimize import minimize

    d = x.shape[1]
    prior = prior or DEFAULT_PRIOR
    bounds = [_LOG_LS_BOUNDS] * d + [_LOG_SF2_BOUNDS, _LOG_NOISE_BOUNDS]
    lo = np.array([b[0] for b in bounds])
    hi = np.array([b[1] for b in bounds])
    mean, sd = prior.mean_vector(d), prior.sd_vector(d)
    starts = [np.clip(mean, lo, hi)]
    if init is not None and init.shape == mean.shape:
        starts.append(np.clip(init, lo, hi))
    for _ in range(n_restarts):
        starts.append(np.clip(mean + sd * rng.standard_normal(len(mean)), lo, hi))
    best_theta, best_value = starts[0], math.inf
    for start in starts:
        res = minimize(
            neg_log_posterior,
            start,
            args=(x, y, prior),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": _FIT_MAXITER},
        )
        if np.isfinite(res.fun) and res.fun < best_value:
            best_theta, best_value = res.x, float(res.fun)
    return GP.build(x, y, np.exp(best_theta[:d]), math.exp(best_theta[d]), math.exp(best_theta[d + 1]))


# ----------------------------------------------------------------------------- log EI

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_SQRT_HALF_PI = math.sqrt(0.5 * math.pi)
#: Below this z, log(1 + z * Mills ratio) loses precision; use its asymptotic series instead.
_ASYMPTOTIC_Z = -1e3


def _log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z * Phi(z))``, accurate for every finite ``z``."""
    from scipy.special import erfcx, ndtr

    out = np.empty_like(z)
    hi = z > -1.0
    zh = z[hi]
    out[hi] = np.log(np.exp(-0.5 * zh * zh - _LOG_SQRT_2PI) + zh * ndtr(zh))
    mid = ~hi & (z > _ASYMPTOTIC_Z)
    zm = z[mid]
    out[mid] = -0.5 * zm * zm - _LOG_SQRT_2PI + np.log1p(zm * _SQRT_HALF_PI * erfcx(-zm / math.sqrt(2.0)))
    lo = ~hi & ~mid
    zl = z[lo]
    out[lo] = -0.5 * zl * zl - _LOG_SQRT_2PI - 2.0 * np.log(-zl) + np.log1p(-3.0 / (zl * zl))
    return out


def log_ei(mean: np.ndarray, var: np.ndarray, best: float) -> np.ndarray:
    """``log E[max(best - f, 0)]`` for ``f ~ N(mean, var)`` (expected improvement, minimisation)."""
    sigma = np.sqrt(var)
    z = (best - mean) / sigma
    return np.log(sigma) + _log_h(z)


def log_ei_grad_z(z: np.ndarray) -> np.ndarray:
    """``d log h(z) / dz = Phi(z) / h(z)``, computed in log space."""
    from scipy.special import log_ndtr

    return np.exp(log_ndtr(z) - _log_h(z))


def log_ei_with_grad(
    mean: np.ndarray, var: np.ndarray, dmean: np.ndarray, dvar: np.ndarray, best: float
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`log_ei` and its gradient, given the posterior's gradients ``dmean``, ``dvar`` (m, d)."""
    sigma = np.sqrt(var)
    z = (best - mean) / sigma
    value = np.log(sigma) + _log_h(z)
    dz = -dmean / sigma[:, None] - (z / (2.0 * var))[:, None] * dvar
    grad = dvar / (2.0 * var[:, None]) + log_ei_grad_z(z)[:, None] * dz
    return value, grad
