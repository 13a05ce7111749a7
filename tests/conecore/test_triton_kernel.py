"""The fused Triton kernel of the ConeLayer's GPU inference (rays and box in one pass), run by
Triton's interpreter on the CPU: it needs no GPU, only the ``triton`` package (which torch's
CUDA builds bring; skipped where it is missing). On a GPU, ``test_layer.py``'s CUDA tests run it
compiled."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(importlib.util.find_spec("triton") is None,
                                reason="the triton package is not installed")

SCRIPT = textwrap.dedent("""
    import warnings
    import numpy as np
    import torch
    import conecore as cc
    from conecore import layer as L
    from conecore._triton_rays_box import rays_box

    torch.manual_seed(0)
    # the kernel against the torch operations: widths around the block sizes, every map, k = 0
    for n, d, k in ((5, 64, 16), (37, 784, 16), (3, 3, 2), (9, 100, 0), (17, 1025, 3)):
        for nonneg in L.NONNEG:
            for box in (None, 0.5):
                yu = torch.randn(n, d + k) * 3
                rays = torch.randn(k, d)
                out = rays_box(yu, rays, nonneg, box)
                z = yu[:, :d] + L.NONNEG[nonneg](yu[:, d:]) @ rays
                if box is not None:
                    z = z / torch.clamp(z.abs().amax(-1, keepdim=True) / box, min=1.0)
                err = float((out - z).abs().max())
                assert out.is_contiguous() and out.shape == (n, d)
                assert err <= 1e-5 * (1 + float(z.abs().max())), (n, d, k, nonneg, box, err)
    # the layer's stacked inference path takes it, after the self-check, and stays in the cone
    cone = cc.Cone.from_inequalities(cc.preset("checkerboard-8"))
    layer = cc.ConeLayer(cone, 5, box=2.0)
    x = torch.randn(300, 5) * 10
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error")
        z = layer._forward_stacked(x, layer.line_coef, layer.ray_coef)
        assert L._TRITON_OK[x.device] is True
        assert torch.allclose(z, layer._forward_folded(x), atol=1e-5)
    A = torch.as_tensor(np.array(cone.A))
    assert float(cc.relative_violation(A, z.double()).max()) < 1e-5
    assert float(z.abs().max()) <= 2.0 + 1e-6
    print("kernel ok")
""")


def run(env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRITON_INTERPRET": "1", **env_extra}
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)


def test_kernel_matches_the_torch_operations_and_the_layer_uses_it():
    done = run({})
    assert done.returncode == 0 and "kernel ok" in done.stdout, done.stderr[-3000:]


def test_a_failing_kernel_falls_back_with_a_warning():
    """A kernel that cannot run (here: switched off by a wrong constant) is refused by the
    self-check: a RuntimeWarning, and the torch operations give the outputs."""
    script = textwrap.dedent("""
        import warnings
        import torch
        import conecore as cc
        from conecore import layer as L
        import conecore._triton_rays_box as K
        K.NONNEG_CODES["softplus"] = 1  # relu's code: the self-check's softplus case differs
        layer = cc.ConeLayer(cc.Cone.from_inequalities(cc.preset("checkerboard-8")), 5, box=2.0)
        x = torch.randn(40, 5)
        with torch.no_grad(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            z = layer._forward_stacked(x, layer.line_coef, layer.ray_coef)
        assert L._TRITON_OK[x.device] is False
        assert any("fused Triton kernel is not used" in str(w.message) for w in caught)
        assert torch.allclose(z, layer._forward_folded(x), atol=1e-5)
        print("fallback ok")
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRITON_INTERPRET": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0 and "fallback ok" in done.stdout, done.stderr[-3000:]
