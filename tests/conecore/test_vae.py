"""The VAE model: the constrained decoder's images stay in the cone and the box; the ELBO terms."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import conecore as cc
from conecore.painting import Painting
from conecore.vae import VAE, elbo_terms

torch.set_num_threads(1)


def relative_violation(A: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Independent of conecore: max_k (A x)_k / (|A_k| max(|x|, 1e-3)) per image."""
    A = np.asarray(A, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    return ((X @ A.T) / np.linalg.norm(A, axis=1)).max(axis=1) / np.maximum(
        np.linalg.norm(X, axis=1), 1e-3)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(marks=st.lists(st.sampled_from("+-0."), min_size=16, max_size=16),
       seed=st.integers(0, 10_000), scale=st.sampled_from([0.1, 1.0, 30.0]),
       nonneg=st.sampled_from(["abs", "softplus", "relu"]))
def test_any_painting_any_weights_samples_stay_in_the_cone(marks, seed, scale, nonneg):
    painting = Painting(8, 2, tuple(marks))
    cone = cc.Cone.from_inequalities(painting.rows())
    model = VAE(64, latent=4, hidden=32, cone=cone, seed=seed, nonneg=nonneg)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
        z = torch.randn(200, 4, generator=torch.Generator().manual_seed(seed)) * 3
        x = model.decode(z).double().numpy()
    assert relative_violation(np.array(cone.A), x).max() <= 1e-5
    assert np.abs(x).max() <= 1.0 + 1e-6


def test_the_cone_head_uses_abs_by_default():
    """Issue 17: the closest constrained image to a digit has about half of its block sums at
    exactly 0, so the head's ray coefficients must reach 0 with a gradient that does not vanish
    there: abs, not the layer's default softplus (conecore.vae explains; the quality it buys is
    tested in test_vae_experiment.py). Any map of the layer can still be chosen."""
    cone = cc.Cone.from_inequalities(Painting.checkerboard(4, 2).rows())
    head = VAE(16, latent=2, hidden=8, cone=cone).decoder[-1]
    assert isinstance(head, cc.ConeLayer) and head.nonneg == "abs" and head.box == 1.0
    other = VAE(16, latent=2, hidden=8, cone=cone, nonneg="softplus").decoder[-1]
    assert other.nonneg == "softplus"
    with pytest.raises(cc.ConeInputError, match="nonneg must be one of"):
        VAE(16, latent=2, hidden=8, cone=cone, nonneg="cube")


def test_the_twin_ends_in_tanh_and_seeds_fix_the_weights():
    a, b = VAE(16, latent=2, hidden=8, seed=3), VAE(16, latent=2, hidden=8, seed=3)
    assert isinstance(a.decoder[-1], torch.nn.Tanh)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    cone = cc.Cone.from_inequalities(Painting.checkerboard(4, 2).rows())
    assert isinstance(VAE(16, latent=2, hidden=8, cone=cone).decoder[-1], cc.ConeLayer)
    with pytest.raises(cc.ConeInputError, match="the cone has 16 coordinates; the images have 9"):
        VAE(9, cone=cone)


def test_elbo_terms_by_hand():
    """An encoder that outputs mu = 0, log var = 0 (the prior) has KL 0; the reconstruction
    term is |x - x_hat|^2 / (2 sigma^2) per sample."""
    model = VAE(4, latent=2, hidden=8, seed=0)
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.zero_()
        for p in model.decoder.parameters():
            p.zero_()  # tanh(0) = 0: every image decodes to 0
    x = torch.tensor([[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    recon, kl = elbo_terms(model, x, sigma=0.5)
    assert torch.allclose(recon, torch.tensor([2.0, 8.0]))
    assert torch.allclose(kl, torch.zeros(2))
    with torch.no_grad():
        model.encoder[-1].bias[:2] = 1.0  # mu = (1, 1): KL = |mu|^2 / 2 = 1
    assert torch.allclose(elbo_terms(model, x, sigma=0.5)[1], torch.ones(2))
