r"""The constrained VAE against its unconstrained twin: training, evaluation, weights, CLI.

* :class:`VAEExperiment` trains both :class:`~conecore.vae.VAE` models on the same data with the
  library's one :class:`~conecore.training.Trainer`, epoch by epoch, and evaluates them: samples
  from the prior, the share meeting the constraint (:func:`conecore.relative_violation`), the
  block sums, and the paper's baseline (test-time projection of the twin's samples onto the cone
  and the box) with its cost per sample. :meth:`VAEExperiment.constraint_cost` says what the
  constraint itself costs: no image in the cone is closer to a test image than its projection,
  so the projections' error is a floor under every constrained decoder's reconstruction error
  and -ELBO, whatever its parameterisation. Weights save and load as plain state dicts.
* :func:`load_images` and :func:`mnist_from_files`: the 8 x 8 digits that ship with the package,
  or MNIST's IDX files; :func:`grid_png` draws images on a grid.
* :func:`main` is ``python -m conecore.vae --epochs N --out grid.png``: the same, headlessly.
"""

from __future__ import annotations

import argparse
import io
import math
import struct
import sys
import time
import zlib
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from conecore.cone import Cone
from conecore.errors import ConeInputError
from conecore.layer import NONNEG as NONNEG_MAPS
from conecore.layer import parse_nonneg
from conecore.painting import Painting
from conecore.projection import box_projection_method, project
from conecore.training import Trainer, usable_device
from conecore.vae import NONNEG, VAE, elbo_terms
from conecore.violation import VIOLATION_TOL, relative_violation

VIOLATION_FLOOR = 1e-3  # norms below this are judged absolutely (an all-zero image is inside)
MODELS = ("cone_layer", "unconstrained")
MODEL_TITLES = {"cone_layer": "ConeLayer decoder", "unconstrained": "unconstrained decoder",
                "projection": "unconstrained + test-time projection"}
VAE_LIMITS = {"latent": (1, 64), "hidden": (8, 1024), "batch": (1, 4096)}
# Test images projected (one OSQP solve each) to price the constraint: as many as fit in this
# many pixels, at least 64 (all 359 test images of the 8 x 8 digits; 64 of MNIST's, ~0.3 s).
COST_PIXELS = 32_768


@dataclass(frozen=True)
class VAEConfig:
    latent: int = 8
    hidden: int = 128
    batch: int = 64
    lr: float = 2e-3
    sigma: float = 0.5
    seed: int = 0
    nonneg: str = NONNEG  # the ConeLayer head's non-negative map (conecore.vae explains abs)

    def validated(self) -> VAEConfig:
        for name, (lo, hi) in VAE_LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ConeInputError(f"{name} must be an integer from {lo} to {hi}; got {value!r}")
        for name in ("lr", "sigma"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 < value <= 10):
                raise ConeInputError(f"{name} must be a number in (0, 10]; got {value!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConeInputError(f"seed must be a non-negative integer; got {self.seed!r}")
        if not isinstance(self.nonneg, str):
            raise ConeInputError(f"nonneg must be a name; got {self.nonneg!r}")
        parse_nonneg(self.nonneg)
        return self


def split(images: np.ndarray, test_fraction: float = 0.2, seed: int = 0
          ) -> tuple[np.ndarray, np.ndarray]:
    """A seeded train/test split of the rows of ``images``."""
    perm = np.random.default_rng(seed).permutation(len(images))
    n_test = max(1, round(test_fraction * len(images)))
    return images[perm[n_test:]], images[perm[:n_test]]


class VAEExperiment:
    """The constrained VAE and its unconstrained twin, trained on the same batches."""

    def __init__(self, cone: Cone, train: np.ndarray, test: np.ndarray,
                 config: VAEConfig | None = None, device: str = "cpu") -> None:
        """Both models, their optimisers and the images live on ``device`` (``"cuda"``: a GPU);
        everything returned is numpy, on the CPU."""
        self.config = (config or VAEConfig()).validated()
        self.device = usable_device(device)
        train = np.asarray(train, dtype=np.float32)
        test = np.asarray(test, dtype=np.float32)
        if train.ndim != 2 or test.ndim != 2 or train.shape[1] != cone.dim != test.shape[1]:
            raise ConeInputError(f"images of {cone.dim} pixels expected; got train "
                                 f"{train.shape} and test {test.shape}")
        if len(train) < 2 or len(test) < 1:
            raise ConeInputError(f"need at least 2 training and 1 test image; got {len(train)} "
                                 f"and {len(test)}")
        self.cone = cone
        self.side = round(math.sqrt(cone.dim))
        self.train_x = torch.as_tensor(train, device=self.device)
        self.test_x = torch.as_tensor(test, device=self.device)
        c = self.config
        self.models = {
            "cone_layer": VAE(cone.dim, c.latent, c.hidden, cone=cone, seed=c.seed,
                              nonneg=c.nonneg),
            "unconstrained": VAE(cone.dim, c.latent, c.hidden, cone=None, seed=c.seed),
        }
        sigma = c.sigma

        def loss(model: nn.Module, x: torch.Tensor, _y: torch.Tensor) -> torch.Tensor:
            recon, kl = elbo_terms(model, x, sigma)  # type: ignore[arg-type]
            return (recon + kl).mean()

        self.trainers = {name: Trainer(m, self.train_x, self.train_x, loss=loss, batch=c.batch,
                                       lr=c.lr, seed=c.seed, device=str(self.device))
                         for name, m in self.models.items()}
        self.history: list[dict[str, dict[str, float]]] = []
        self.seconds = 0.0
        self._floor: dict[str, np.ndarray] | None = None

    @property
    def epochs(self) -> int:
        return len(self.history)

    @property
    def steps_per_epoch(self) -> int:
        return max(1, -(-len(self.train_x) // min(self.config.batch, len(self.train_x))))

    def train_epoch(self) -> dict[str, dict[str, float]]:
        """One pass's worth of steps for each model; returns and records the epoch's metrics."""
        t0 = time.perf_counter()
        record: dict[str, dict[str, float]] = {}
        for name, trainer in self.trainers.items():
            losses = trainer.run(self.steps_per_epoch)
            record[name] = {"train_loss": float(np.mean(losses)), **self.test_metrics(name)}
        self.seconds += time.perf_counter() - t0
        self.history.append(record)
        return record

    def test_metrics(self, name: str) -> dict[str, float]:
        model = self.models[name]
        model.eval()
        with torch.no_grad():
            recon, kl = elbo_terms(model, self.test_x, self.config.sigma)
            mse = (model.decode(model.encode(self.test_x)[0]) - self.test_x).square().mean()
        return {"neg_elbo": float((recon + kl).mean()), "recon": float(recon.mean()),
                "kl": float(kl.mean()), "mse": float(mse)}

    # ------------------------------------------------------------------ evaluation
    def prior_samples(self, n: int = 64, seed: int = 0) -> dict[str, np.ndarray]:
        """Decoded samples from ``N(0, I)`` for both models (same latents)."""
        if not 1 <= n <= 4096:
            raise ConeInputError(f"the number of samples must be from 1 to 4096; got {n}")
        z = torch.randn(n, self.config.latent, generator=torch.Generator().manual_seed(seed))
        z = z.to(self.device)
        out = {}
        for name, model in self.models.items():
            model.eval()
            with torch.no_grad():
                out[name] = model.decode(z).cpu().numpy()
        return out

    def reconstructions(self, n: int = 8) -> dict[str, np.ndarray]:
        """The first ``n`` test images and both models' reconstructions (posterior means)."""
        x = self.test_x[:n]
        out = {"data": x.cpu().numpy()}
        for name, model in self.models.items():
            model.eval()
            with torch.no_grad():
                out[name] = model.decode(model.encode(x)[0]).cpu().numpy()
        return out

    def evaluate(self, n: int = 64, seed: int = 0, project_method: str | None = None
                 ) -> dict[str, Any]:
        """Samples, the share in the cone, block sums and cost per sample for the ConeLayer,
        the twin, and the twin's samples projected onto the cone and the box (the baseline:
        OSQP, as in the paper, where it is installed; see
        :func:`conecore.projection.box_projection_method`)."""
        project_method = project_method or box_projection_method(self.cone)
        z = torch.randn(n, self.config.latent, generator=torch.Generator().manual_seed(seed))
        z = z.to(self.device)
        samples, cost = {}, {}
        for name, model in self.models.items():
            model.eval()
            with torch.no_grad():
                model.decode(z[:2])  # warm up (folds the line weights once)
                t0 = time.perf_counter()
                samples[name] = model.decode(z).cpu().numpy()
                cost[name] = (time.perf_counter() - t0) / n
        t0 = time.perf_counter()
        samples["projection"] = np.asarray(
            project(self.cone, samples["unconstrained"].astype(np.float64), method=project_method,
                    box=1.0, strict=False), dtype=np.float32)  # an unsolved sample shows in
        # the share of projected samples inside (below), never as a failed page
        cost["projection"] = cost["unconstrained"] + (time.perf_counter() - t0) / n
        result: dict[str, Any] = {"samples": samples, "seconds_per_sample": cost,
                                  "projection_method": project_method}
        result["inside"] = {k: self.inside(v) for k, v in samples.items()}
        result["share_inside"] = {k: float(v.mean()) for k, v in result["inside"].items()}
        A = np.array(self.cone.A, dtype=np.float64)
        result["block_sums"] = {k: v.astype(np.float64) @ A.T for k, v in samples.items()}
        result["rows_violated"] = {k: self.rows_violated(v) for k, v in samples.items()}
        result["cost"] = self.constraint_cost(project_method)
        return result

    def rows_violated(self, X: np.ndarray) -> float:
        """The share of (image, row of ``A``) pairs broken, by the measure of :meth:`inside`
        applied to each row alone (for a painting: the share of block signs that are wrong)."""
        A = np.array(self.cone.A, dtype=np.float64)
        rows = A[np.abs(A).max(axis=1) > 0] if A.size else A
        if not len(rows) or len(X) == 0:
            return 0.0
        # One row at a time through relative_violation, which scales it first: a norm of the
        # raw row overflowed past 1e154 and called every violation of that row 0.
        broken = [relative_violation(row[None], X, floor=VIOLATION_FLOOR) > VIOLATION_TOL
                  for row in rows]
        return float(np.mean(broken))

    def floor(self, project_method: str | None = None) -> dict[str, np.ndarray]:
        """The first test images (:data:`COST_PIXELS`), their projections onto the cone and the
        box, and the squared error of each (summed over pixels). Computed once: it depends on
        the data and the cone only."""
        if self._floor is None:
            n = max(64, COST_PIXELS // self.cone.dim)
            x = self.test_x[:n].cpu().numpy().astype(np.float64)
            method = project_method or box_projection_method(self.cone)
            p = np.asarray(project(self.cone, x, method=method, box=1.0, strict=False))
            self._floor = {"images": x, "projected": p, "sq_error": np.square(p - x).sum(axis=1)}
        return self._floor

    def constraint_cost(self, project_method: str | None = None) -> dict[str, Any]:
        r"""What the constraint costs, on the test images of :meth:`floor`.

        ``sq_error``: the squared error per image (summed over pixels, mean over images) of
        ``floor`` (each image's projection onto the cone and the box: no image the constrained
        decoder can draw is closer), ``cone_layer`` and ``unconstrained`` (posterior-mean
        reconstructions) and ``projection`` (the twin's reconstructions, projected).
        ``recon_floor``: the floor in nats, :math:`\mathrm{sq\_error} / (2 \sigma^2)`: every
        constrained decoder's reconstruction term, and so its -ELBO, is at least this.
        ``images_inside``: the share of these test images that meet the constraint;
        ``rows_violated``: the share of their (image, row) pairs broken."""
        project_method = project_method or box_projection_method(self.cone)
        fl = self.floor(project_method)
        x = torch.as_tensor(fl["images"], dtype=self.test_x.dtype, device=self.device)
        rec = {}
        for name, model in self.models.items():
            model.eval()
            with torch.no_grad():
                rec[name] = model.decode(model.encode(x)[0]).cpu().numpy().astype(np.float64)
        rec["projection"] = np.asarray(project(self.cone, rec["unconstrained"],
                                               method=project_method, box=1.0, strict=False))
        errors = {k: float(np.square(v - fl["images"]).sum(axis=1).mean())
                  for k, v in rec.items()}
        errors["floor"] = float(fl["sq_error"].mean())
        return {"images": len(fl["images"]), "sq_error": errors,
                "recon_floor": errors["floor"] / (2 * self.config.sigma**2),
                "images_inside": float(self.inside(fl["images"]).mean()),
                "rows_violated": self.rows_violated(fl["images"])}

    def inside(self, X: np.ndarray) -> np.ndarray:
        """Which images meet the constraint: relative violation at most ``VIOLATION_TOL``."""
        return relative_violation(self.cone.A, X, floor=VIOLATION_FLOOR) <= VIOLATION_TOL

    # ------------------------------------------------------------------ weights
    def weights_bytes(self, name: str = "cone_layer") -> bytes:
        buf = io.BytesIO()
        torch.save({k: v.cpu() for k, v in self.models[name].state_dict().items()}, buf)
        return buf.getvalue()

    def load_weights(self, name: str, raw: bytes) -> None:
        """Load a state dict saved by :meth:`weights_bytes` (``weights_only=True``: plain
        tensors only, nothing is unpickled). Errors name what does not match."""
        try:
            state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        except Exception as exc:  # any unreadable file is the user's input error
            raise ConeInputError(f"not a PyTorch state dict saved with torch.save: {exc}") from None
        if not isinstance(state, dict):
            raise ConeInputError("the file holds no state dict")
        model = self.models[name]
        own = model.state_dict()
        missing = [k for k in own if k not in state]
        extra = [k for k in state if k not in own]
        if missing or extra:
            raise ConeInputError(f"the weights do not fit this model: missing {missing[:3]}, "
                                 f"unexpected {extra[:3]}")
        for k, v in own.items():
            if not isinstance(state[k], torch.Tensor) or state[k].shape != v.shape:
                got = getattr(state[k], "shape", type(state[k]).__name__)
                raise ConeInputError(f"{k}: shape {tuple(v.shape)} expected, got {got}")
        model.load_state_dict(state)


# ---------------------------------------------------------------------------------- images
def grid_png(images: np.ndarray, side: int, cols: int = 8, scale: int = 4) -> bytes:
    """A PNG of images in ``[-1, 1]`` (rows of ``side * side`` pixels) on a grid: white is -1,
    black is 1, light blue lines between images. Written with zlib alone: Pillow comes with
    Streamlit, not with torch (a GPU box may have no Pillow)."""
    images = np.clip(np.asarray(images, dtype=np.float64), -1.0, 1.0).reshape(-1, side, side)
    cols = max(1, min(cols, len(images)))
    rows = max(1, -(-len(images) // cols))
    step = side + 1
    canvas = np.empty((rows * step + 1, cols * step + 1, 3), dtype=np.uint8)
    canvas[:] = (190, 215, 255)
    for k, img in enumerate(images):
        r, c = divmod(k, cols)
        grey = np.round(255 * (1.0 - img) / 2.0).astype(np.uint8)
        canvas[1 + r * step : 1 + r * step + side, 1 + c * step : 1 + c * step + side] = \
            grey[..., None]
    pixels = np.repeat(np.repeat(canvas, scale, axis=0), scale, axis=1)
    return _png_rgb(pixels)


def _png_rgb(pixels: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of ``pixels`` (``(height, width, 3)`` uint8): each row after filter
    byte 0, deflated, in IHDR, IDAT and IEND chunks."""
    height, width, _ = pixels.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    raw = np.concatenate([np.zeros((height, 1), np.uint8),
                          np.ascontiguousarray(pixels, np.uint8).reshape(height, -1)], axis=1)
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9)) + chunk(b"IEND", b""))


def load_images(mnist: str | None = None, limit: int | None = None, seed: int = 0
                ) -> tuple[np.ndarray, np.ndarray, int]:
    """``(train, test, side)``: the 8 x 8 digits, or MNIST from a folder of IDX files."""
    from conecore import data

    if mnist:
        train, _ = data.load_mnist(mnist, "train")
        try:
            test, _ = data.load_mnist(mnist, "test")
        except ConeInputError:
            train, test = split(train, seed=seed)
        side = 28
    else:
        images, _ = data.digits()
        train, test = split(images, seed=seed)
        side = 8
    if limit:
        train, test = train[:limit], test[: max(1, limit // 5)]
    return train, test, side


def mnist_from_files(files: list[tuple[str, bytes]], limit: int | None = None, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` images in ``[-1, 1]`` from uploaded IDX files (raw or ``.gz``).

    Image files (3-D IDX of 28 x 28) are told from label files (1-D, not needed by a VAE) by
    their header; a name with ``t10k`` or ``test`` is the test set. Without one, 20 % of the
    training images are held out. ``limit`` caps the training images (and the test set at a
    fifth of it)."""
    from conecore.data import read_idx

    train, test = [], []
    for name, raw in files:
        arr = read_idx(raw, name)
        if arr.ndim == 1:
            continue
        if arr.ndim != 3 or arr.shape[1:] != (28, 28):
            raise ConeInputError(f"{name}: images of 28 x 28 expected; the header says "
                                 f"{arr.shape}")
        images = (arr.reshape(len(arr), -1).astype(np.float32) / 127.5 - 1.0)
        lowered = name.lower()
        (test if "t10k" in lowered or "test" in lowered else train).append(images)
    if not train and not test:
        raise ConeInputError("no image file among the IDX files (only labels?)")
    if not train:
        train, test = test, []
    x = np.concatenate(train)
    if test:
        y = np.concatenate(test)
    else:
        x, y = split(x, seed=seed)
    if limit:
        x, y = x[:limit], y[: max(1, limit // 5)]
    return x, y


# ---------------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m conecore.vae",
        description="Train the constrained VAE and its unconstrained twin; write a sample grid.")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--out", default="grid.png", help="PNG of prior samples (rows: ConeLayer, "
                   "unconstrained, projected)")
    p.add_argument("--mnist", metavar="DIR", help="folder with MNIST's IDX files (raw or .gz); "
                   "default: the 8x8 digits that ship with conecore")
    p.add_argument("--limit", type=int, help="use at most this many training images")
    p.add_argument("--paint", help="the constraint as rows of + - 0 . joined by _ "
                   "(default: the checkerboard)")
    p.add_argument("--latent", type=int, default=VAEConfig.latent)
    p.add_argument("--hidden", type=int, default=VAEConfig.hidden)
    p.add_argument("--batch", type=int, default=VAEConfig.batch)
    p.add_argument("--lr", type=float, default=VAEConfig.lr)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--nonneg", default=VAEConfig.nonneg, choices=sorted(NONNEG_MAPS),
                   help="the ConeLayer head's non-negative map for the ray coefficients")
    p.add_argument("--samples", type=int, default=32, help="samples per model in the grid")
    p.add_argument("--weights", metavar="PATH", help="also save the ConeLayer VAE's state dict")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (tiny models "
                   "run fastest on one)")
    p.add_argument("--device", default="cpu", help="where both models train: cpu (default), "
                   "cuda, cuda:1, ...")
    args = p.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    if not 1 <= args.epochs <= 10_000:
        p.error("--epochs must be from 1 to 10000")
    try:
        train, test, side = load_images(args.mnist, args.limit, args.seed)
        painting = (Painting.from_text(args.paint, side) if args.paint
                    else Painting.checkerboard(side))
        cone = Cone.from_inequalities(painting.rows())
        config = replace(VAEConfig(), latent=args.latent, hidden=args.hidden, batch=args.batch,
                         lr=args.lr, seed=args.seed, nonneg=args.nonneg)
        exp = VAEExperiment(cone, train, test, config, device=args.device)
    except ConeInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"data: {len(train)} train / {len(test)} test images of {side}x{side}; "
          f"cone: {cone.summary()}; config: {asdict(config)}")
    print(f"{'epoch':>5} {'seconds':>8} " + " ".join(f"{m + ' -ELBO':>24}" for m in MODELS))
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        rec = exp.train_epoch()
        print(f"{epoch:>5} {time.perf_counter() - t0:>8.2f} "
              + " ".join(f"{rec[m]['neg_elbo']:>24.2f}" for m in MODELS))
    ev = exp.evaluate(args.samples, seed=args.seed)
    print(f"\n{'model':<48} {'in the cone':>12} {'us/sample':>10}")
    titles = {**MODEL_TITLES, "projection": f"{MODEL_TITLES['projection']} "
                                            f"({ev['projection_method']})"}
    for name in ("cone_layer", "unconstrained", "projection"):
        print(f"{titles[name]:<48} {ev['share_inside'][name]:>12.1%} "
              f"{ev['seconds_per_sample'][name] * 1e6:>10.1f}")
    cost = ev["cost"]
    print(f"\nwhat the constraint costs, on {cost['images']} test images: "
          f"{1 - cost['images_inside']:.0%} of them break it ({cost['rows_violated']:.0%} of "
          f"their rows); squared error per image of")
    for name, title in (("floor", "the test images projected (the floor)"),
                        ("cone_layer", "ConeLayer reconstructions"),
                        ("unconstrained", "unconstrained reconstructions"),
                        ("projection", "unconstrained reconstructions, projected")):
        print(f"  {title:<42} {cost['sq_error'][name]:>8.2f}")
    print(f"so every constrained decoder's test -ELBO is at least {cost['recon_floor']:.1f} "
          f"nats; the twin's samples break {ev['rows_violated']['unconstrained']:.0%} of the "
          "rows")
    stacked = np.concatenate([ev["samples"][m] for m in ("cone_layer", "unconstrained",
                                                          "projection")])
    with open(args.out, "wb") as fh:
        fh.write(grid_png(stacked, side, cols=min(args.samples, 16)))
    print(f"wrote {args.out}: ConeLayer samples first, then unconstrained, then projected "
          "(white = -1)")
    if args.weights:
        with open(args.weights, "wb") as fh:
            fh.write(exp.weights_bytes("cone_layer"))
        print(f"wrote {args.weights}")
    return 0
