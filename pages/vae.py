"""Constrained VAE: the paper's application on real digits, with a constraint the user paints."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pandas as pd
import streamlit as st
import torch

import conecore as cc
from conecore import plotting
from conecore.painting import Painting
from conecore.vae_experiment import (
    MODEL_TITLES,
    VAEConfig,
    VAEExperiment,
    grid_png,
    load_images,
    mnist_from_files,
)
from explorer import shell
from explorer.limits import APP_LIMITS

torch.set_num_threads(1)  # tiny models; see pages/train.py

MAX_EPOCHS = {8: 50, 28: 10}  # per press of the button
# Per press by default: 10 epochs of both models on the 8 x 8 digits take about 2-3 s on a
# 2-core machine; two presses give digits as readable as the projected twin's (issue 17).
DEFAULT_EPOCHS = {8: 10, 28: 2}
MAX_MNIST_FILES = 4  # train/test images and labels
MNIST_LIMIT = 10_000  # training images per session on the page (memory on a shared server)
MARK_OPTIONS = ["+", "-", "0", "."]
N_SAMPLES = 64
# Reading a folder on the server is for local use only: a hosted demo's visitors would read its
# disk. Off unless whoever runs the app turns it on (`make run` does).
SERVER_FILES = os.environ.get("CONE_EXPLORER_SERVER_FILES") == "1"

EXPLAIN = r"""
**The model.** A variational autoencoder: the encoder maps an image $x$ to a Gaussian
$q(z \mid x)$ over a small latent space, the decoder maps $z$ back to an image, and training
maximises the evidence lower bound (ELBO), here
$-\mathrm{ELBO} = \|x - \hat x\|^2 / (2\sigma^2) + \mathrm{KL}(q(z\mid x)\,\|\,\mathcal N(0, I))$
with $\sigma = 0.5$ (up to a constant).

**The constraint.** Each marked block $B$ of pixels is one row of $A$: "+" asks
$\sum_{p \in B} x_p \ge 0$ (row $-\mathbb 1_B$), "−" asks $\le 0$ (row $\mathbb 1_B$), "0" asks
both. The paper's checkerboard alternates the signs. The cone $\{x : A x \le 0\}$ has one ray
per marked block (the block's indicator with its sign, spread evenly) and a huge lineality
space: every pattern whose block sums are all zero.

**Why every sample obeys it.** The constrained decoder's last layer is a ConeLayer: it outputs
$L t + R^\top \mu$ with $\mu = |\cdot| \ge 0$, then divides by
$\max(1, \|x\|_\infty)$ to stay in the $[-1, 1]$ box. A positive multiple of a point of a cone
is in the cone, so whatever the weights, $A \hat x \le 0$ for every decoded image. The
unconstrained twin ends in $\tanh$ and learns the data, which breaks the constraint; the
paper's baseline projects its samples onto the cone afterwards (one quadratic program per
sample, OSQP), which costs far more per sample than the ConeLayer's single matrix product.

**Why the constrained images look checkered.** The digits do not obey the checkerboard. Pixels
run from −1 (white, the background) to 1 (black ink), so a "+" block over background has a sum
near −4 and must be lifted to at least 0: mid-grey. The closest image in the cone to a digit
(its projection) keeps the ink and the pattern inside each block (the lines are free) and
fixes only the wrong block sums: that grey checkerboard is what the constraint asks for, and
the twin's projected samples show it too. So no constrained decoder, however it is built, can
reconstruct a test digit better than its projection: that error, in nats, is a floor under its
−ELBO, reported with the results. Centring the images (subtracting the mean digit) would make
the constraint far cheaper, but it would then hold for the difference from the mean digit, not
for the image you see; the page keeps the constraint on the images themselves.

**Why $|\cdot|$ and not softplus.** About half of a digit's block sums are set to exactly 0 by
the projection, so the decoder needs ray coefficients $\mu_k = 0$ exactly. Softplus reaches 0
only as its input goes to $-\infty$, with a vanishing gradient; $|\cdot|$ reaches it with full
gradient. On the 8 × 8 digits after 25 epochs this lowers the ConeLayer's test squared error
per image from 24.3 to 23.3 and makes its samples about as readable as the projected twin's.
"""


# ------------------------------------------------------------------------------ data
@st.cache_data(max_entries=1, show_spinner=False)
def digits_split(seed: int) -> tuple[np.ndarray, np.ndarray]:
    train, test, _ = load_images(None, seed=seed)
    return train, test


def mnist_data() -> tuple[np.ndarray, np.ndarray] | None:
    """MNIST from uploaded IDX files or a folder, kept in this session only."""
    files = st.file_uploader("MNIST IDX files (raw or .gz; the image files are enough)",
                             accept_multiple_files=True, key="vae_mnist_files")
    folder = "" if not SERVER_FILES else st.text_input(
        "…or a folder on this computer with the IDX files", key="vae_mnist_folder")
    if files and len(files) > MAX_MNIST_FILES:
        st.error(f"{len(files)} files were uploaded; at most {MAX_MNIST_FILES} are read (the "
                 "training and test images and labels). Remove the others.")
        return None
    signature = (tuple((f.name, f.size) for f in files or []), folder)
    if st.session_state.get("vae_mnist_signature") != signature:
        st.session_state["vae_mnist_signature"] = signature
        st.session_state.pop("vae_mnist", None)
        st.session_state.pop("vae_mnist_error", None)
        try:
            if files:
                data = mnist_from_files([(f.name, f.getvalue()) for f in files], MNIST_LIMIT)
            elif folder:
                train, test, _ = load_images(folder.strip(), MNIST_LIMIT)
                data = (train, test)
            else:
                data = None
        except (cc.ConeError, OSError) as exc:
            st.session_state["vae_mnist_error"] = str(exc)
        else:
            if data is not None:
                st.session_state["vae_mnist"] = data
    if "vae_mnist_error" in st.session_state:
        st.error(st.session_state["vae_mnist_error"])
    data = st.session_state.get("vae_mnist")
    if data is None:
        st.info("Give the MNIST files (train-images-idx3-ubyte and t10k-images-idx3-ubyte, "
                "raw or .gz) to train on 28 × 28 digits. Nothing is downloaded. Uploads are "
                f"limited to the server's upload size; at most {MNIST_LIMIT:,} training images "
                "are used here (the CLI has no such cap).")
    return data


# ------------------------------------------------------------------------------ painter
def block_options(side: int) -> list[int]:
    return [b for b in range(1, side + 1) if side % b == 0 and side // b <= 16]


def painting_state(side: int) -> Painting:
    """This session's painting for images of ``side``; the first time from ``?paint=``."""
    key = f"vae_paint_{side}"
    if key not in st.session_state:
        painting = Painting.checkerboard(side)
        url = st.query_params.get("paint")
        if url:
            try:
                painting = Painting.from_text(url.replace(" ", "+"), side)  # "+" read as " "
            except cc.ConeInputError as exc:
                st.session_state["vae_paint_error"] = f"The link's painting: {exc}"
        st.session_state[key] = painting.to_text()
    return Painting.from_text(st.session_state[key], side)


def set_painting(painting: Painting) -> None:
    st.session_state[f"vae_paint_{painting.image}"] = painting.to_text()
    st.session_state["vae_editor_version"] = st.session_state.get("vae_editor_version", 0) + 1


@st.cache_resource(max_entries=64, show_spinner=False)
def painted_cone(text: str, side: int) -> cc.Cone:
    return cc.Cone.from_inequalities(Painting.from_text(text, side).rows(),
                                     limits=APP_LIMITS)


def painter(side: int, disabled: bool) -> Painting:
    painting = painting_state(side)
    if "vae_paint_error" in st.session_state:
        st.error(st.session_state.pop("vae_paint_error"))
    left, right = st.columns([3, 2])
    with left:
        blocks = block_options(side)
        b = st.selectbox("Block size (pixels)", blocks,
                         index=blocks.index(painting.block) if painting.block in blocks else 0,
                         format_func=lambda v: f"{v} × {v} ({side // v} × {side // v} blocks)",
                         key=f"vae_block_{side}_{st.session_state.get('vae_editor_version', 0)}",
                         disabled=disabled)
        if b != painting.block:
            set_painting(Painting.checkerboard(side, b))
            st.rerun()
        c1, c2, c3 = st.columns(3)
        if c1.button("Checkerboard", key="vae_checker", disabled=disabled, width="stretch"):
            set_painting(Painting.checkerboard(side, painting.block))
            st.rerun()
        if c2.button("Invert signs", key="vae_invert", disabled=disabled, width="stretch"):
            swap = {"+": "-", "-": "+"}
            set_painting(Painting(side, painting.block,
                                  tuple(swap.get(m, m) for m in painting.marks)))
            st.rerun()
        if c3.button("Clear", key="vae_clear", disabled=disabled, width="stretch"):
            set_painting(Painting(side, painting.block, tuple("." * painting.grid**2)))
            st.rerun()
        n = painting.grid
        frame = pd.DataFrame(painting.to_grid(), columns=[str(j + 1) for j in range(n)],
                             index=[str(i + 1) for i in range(n)])
        config = {str(j + 1): st.column_config.SelectboxColumn(str(j + 1), options=MARK_OPTIONS,
                                                                required=True, width="small")
                  for j in range(n)}
        edited = st.data_editor(frame, column_config=config, key="vae_editor_"
                                f"{side}_{st.session_state.get('vae_editor_version', 0)}",
                                disabled=disabled, num_rows="fixed")
        st.caption("Each cell is a block: + its pixel sum ≥ 0, − ≤ 0, 0 = 0, . free. "
                   "Each marked block is one row of A.")
        try:
            new = Painting.from_grid(edited.fillna(".").values.tolist(), side)
        except cc.ConeInputError as exc:
            st.error(f"Painter: {exc}. The last valid painting is still in use.")
        else:
            if new != painting:
                st.session_state[f"vae_paint_{side}"] = new.to_text()
                painting = new
    if st.query_params.get("paint") != painting.to_text():
        st.query_params["paint"] = painting.to_text()
    right.plotly_chart(plotting.figure_painting(painting), key="vae_paint_fig",
                       config={"displayModeBar": False})
    return painting


def show_cone(painting: Painting) -> cc.Cone | None:
    try:
        cone = painted_cone(painting.to_text(), painting.image)
    except cc.ConeError as exc:
        st.error(f"The painted cone could not be computed: {exc}")
        return None
    st.caption(f"The painted cone: {len(cone.A)} rows of A · {cone.summary()}")
    for warning in painting.warnings(cone):
        st.warning(warning)
    if len(cone.rays):
        with st.expander(f"Its {len(cone.rays)} rays and {len(cone.lines)} lines"):
            rays = np.asarray(cone.rays)[:32]
            scale = np.abs(rays).max(axis=1, keepdims=True)
            st.image(grid_png(rays / scale, painting.image, cols=min(16, len(rays)),
                              scale=max(2, 48 // painting.image)),
                     caption="Rays (first 32; black +, white −, grey 0): each is one marked "
                             "block, evenly spread, with the sign its mark allows.")
            st.caption(f"The {len(cone.lines)} lines span every image whose marked block sums "
                       "are all 0: the decoder adds any of them freely, so the constraint "
                       "fixes only the signs of the block sums.")
    return cone


# ------------------------------------------------------------------------------ training
def experiment_key(source: str, data: tuple[np.ndarray, np.ndarray], painting: Painting,
                   config: VAEConfig) -> tuple:
    digest = hashlib.sha1(data[0][:64].tobytes()).hexdigest()[:12] + str(len(data[0]))
    return (source, digest, painting.to_text(), config)


def train(key: tuple, cone: cc.Cone, data: tuple[np.ndarray, np.ndarray], config: VAEConfig,
          epochs: int) -> None:
    if st.session_state.get("vae_key") != key or "vae_exp" not in st.session_state:
        st.session_state["vae_exp"] = VAEExperiment(cone, data[0], data[1], config)
        st.session_state["vae_key"] = key
        st.session_state.pop("vae_eval", None)
    exp: VAEExperiment = st.session_state["vae_exp"]
    bar = st.progress(0.0, text="Training…")
    charts = st.empty()
    for e in range(epochs):
        exp.train_epoch()
        bar.progress((e + 1) / epochs, text=f"epoch {exp.epochs} ({e + 1} of {epochs} this run) "
                     f"· {exp.seconds / exp.epochs:.2f} s per epoch for both models")
        with charts.container():
            curves(exp, live=True)
    st.session_state.pop("vae_eval", None)
    bar.empty()
    charts.empty()


def curves(exp: VAEExperiment, live: bool = False) -> None:
    left, right = st.columns(2)
    suffix = "_live" if live else ""
    left.plotly_chart(plotting.figure_curves(exp.history, "neg_elbo", "test −ELBO (nats)",
                                             MODEL_TITLES, log=False, x_title="epoch"),
                      key=f"vae_elbo{suffix}{exp.epochs}" if live else "vae_elbo")
    right.plotly_chart(plotting.figure_curves(exp.history, "recon", "test reconstruction term",
                                              MODEL_TITLES, log=False, x_title="epoch"),
                       key=f"vae_recon{suffix}{exp.epochs}" if live else "vae_recon")


def results(exp: VAEExperiment) -> None:
    if st.session_state.get("vae_eval", (None,))[0] != exp.epochs:
        with st.spinner("Sampling and projecting the baseline's samples…"):
            st.session_state["vae_eval"] = (exp.epochs, exp.evaluate(N_SAMPLES))
    ev = st.session_state["vae_eval"][1]
    side = exp.side
    st.subheader(f"After {exp.epochs} epoch{'s' * (exp.epochs != 1)}")
    curves(exp)
    cost_of_the_constraint(exp, ev)
    names = ("cone_layer", "unconstrained", "projection")
    cols = st.columns(3)
    for col, name in zip(cols, names, strict=True):
        with col:
            st.markdown(f"**{MODEL_TITLES[name]}**")
            st.metric("samples meeting the constraint", f"{ev['share_inside'][name]:.0%}")
            st.caption(f"{ev['seconds_per_sample'][name] * 1e6:,.0f} µs per sample"
                       + (f" (decoder + {ev['projection_method'].upper()})"
                          if name == "projection" else ""))
            png = grid_png(ev["samples"][name], side, cols=8, scale=max(2, 48 // side))
            st.image(png, caption=f"{N_SAMPLES} samples from the prior", width="stretch")
            shell.download(st, "Download PNG", lambda png=png: png,
                            f"vae-{name}-samples.png", key=f"vae_png_{name}", mime="image/png")
    speedup = ev["seconds_per_sample"]["projection"] / max(ev["seconds_per_sample"]["cone_layer"],
                                                           1e-12)
    st.caption(f"The ConeLayer decoder is {speedup:,.0f}× cheaper per sample than decoding with "
               "the twin and projecting (same latents, same batch, this machine).")
    st.plotly_chart(plotting.figure_block_sums(ev["block_sums"], MODEL_TITLES), key="vae_hist")
    rec = exp.reconstructions(8)
    st.markdown("**Reconstructions** of test images, row by row: the data; the data projected "
                "onto the cone (the closest images that obey the constraint: the best any "
                "constrained decoder can do); the ConeLayer VAE; the twin")
    st.image(grid_png(np.concatenate([rec["data"], exp.floor()["projected"][:8],
                                      rec["cone_layer"], rec["unconstrained"]]),
                      side, cols=8, scale=max(2, 48 // side)), width="stretch")
    weights()


def cost_of_the_constraint(exp: VAEExperiment, ev: dict) -> None:
    """A table and a paragraph: what the constraint costs, in this run's numbers."""
    cost, last = ev["cost"], exp.history[-1]
    err, us = cost["sq_error"], {k: v * 1e6 for k, v in ev["seconds_per_sample"].items()}
    floor = exp.floor()["projected"]
    pct = "{:.0%}".format
    # (row, test -ELBO, squared error, share of images breaking it, share of rows, µs/image)
    rows = [
        ("test images themselves", "—", 0.0, 1 - cost["images_inside"],
         cost["rows_violated"], "—"),
        ("test images projected onto the cone: the floor", f"≥ {cost['recon_floor']:.1f}",
         err["floor"], 1 - float(exp.inside(floor).mean()), exp.rows_violated(floor), "—"),
    ] + [(MODEL_TITLES[k], f"{last[k]['neg_elbo']:.1f}" if k in last else "—", err[k],
          1 - ev["share_inside"][k], ev["rows_violated"][k], f"{us[k]:,.0f}")
         for k in ("cone_layer", "unconstrained", "projection")]
    table = ["| | test −ELBO (nats) | squared error per test image | images breaking it "
             "| rows of A broken | µs per sample |", "|---|--:|--:|--:|--:|--:|"]
    table += [f"| {name} | {elbo} | {sq:.1f} | {pct(out)} | {pct(broken)} | {micro} |"
              for name, elbo, sq, out, broken, micro in rows]
    c, t = last["cone_layer"], last["unconstrained"]
    st.markdown("**What the constraint costs**")
    st.markdown("\n".join(table))
    st.caption(
        f"On {cost['images']} test images: {pct(1 - cost['images_inside'])} of them break the "
        f"painted constraint themselves ({pct(cost['rows_violated'])} of their rows of A), and "
        f"the closest images that obey it are {err['floor']:.1f} away in squared error. So every "
        f"constrained decoder's reconstruction term, and so its −ELBO, is at least "
        f"{cost['recon_floor']:.1f} nats, however it is built. The ConeLayer's −ELBO of "
        f"{c['neg_elbo']:.1f} is that floor, {c['recon'] - cost['recon_floor']:.1f} nats of "
        f"reconstruction above it and {c['kl']:.1f} of KL; the twin's {t['neg_elbo']:.1f} is "
        f"{t['recon']:.1f} of reconstruction and {t['kl']:.1f} of KL, for images that break "
        f"the constraint ({pct(ev['rows_violated']['unconstrained'])} of the rows in its "
        f"samples). Making its samples obey it afterwards costs an OSQP solve each: "
        f"{us['projection']:,.0f} µs per sample against the ConeLayer's {us['cone_layer']:,.0f}. "
        "Squared errors: posterior-mean reconstructions (for the projection: the twin's, "
        "projected); −ELBO: all test images, one latent sample each.")


def weights() -> None:
    exp: VAEExperiment = st.session_state["vae_exp"]
    c1, c2, c3 = st.columns(3)
    for col, name in zip((c1, c2), ("cone_layer", "unconstrained"), strict=True):
        shell.download(col, f"Weights: {MODEL_TITLES[name]} (.pt)",
                        lambda name=name: exp.weights_bytes(name), f"vae-{name}.pt",
                        key=f"vae_w_{name}")
    upload = c3.file_uploader("Load ConeLayer VAE weights (.pt)", type=["pt"],
                              key="vae_weights_upload")
    if upload is not None:
        signature = (upload.name, upload.size, st.session_state.get("vae_key"))
        if st.session_state.get("vae_weights_done") != signature:
            st.session_state["vae_weights_done"] = signature
            try:
                exp.load_weights("cone_layer", upload.getvalue())
            except cc.ConeInputError as exc:
                st.session_state["vae_weights_msg"] = ("error", f"{upload.name}: {exc}")
            else:
                st.session_state["vae_weights_msg"] = ("ok", f"Loaded {upload.name}.")
                st.session_state.pop("vae_eval", None)
                st.rerun()
    kind, msg = st.session_state.get("vae_weights_msg", (None, None))
    if kind == "error":
        st.error(msg)
    elif kind == "ok":
        st.success(msg)


# ------------------------------------------------------------------------------ page
with shell.page("vae"):
    st.title("Constrained VAE")
    st.caption("The paper's application: a VAE whose decoder ends in a ConeLayer, so every image "
               "it draws obeys the painted block-sum constraint, next to its unconstrained twin "
               "and the twin's samples projected onto the cone.")
    hidden_controls = shell.controls_hidden()
    with st.expander("Explain: the model, the constraint, and why every sample obeys it"):
        st.markdown(EXPLAIN)
    # Plain option names: a bound widget writes its displayed label into the URL.
    source = st.radio("Images", ["digits", "mnist"], horizontal=True, key="vae_source",
                      bind="query-params", disabled=hidden_controls,
                      captions=["8 × 8, 1,797 images, ship with conecore",
                                "28 × 28, from your IDX files"])
    seed = int(st.number_input("Seed", 0, 10_000, 0, key="vae_seed", bind="query-params",
                               disabled=hidden_controls))
    data = digits_split(seed) if source == "digits" else mnist_data()
    side = 8 if source == "digits" else 28
    st.subheader("The constraint")
    painting = painter(side, disabled=hidden_controls)
    cone = show_cone(painting)
    if data is None or cone is None:
        shell.end_page()
    if cone.kind == cc.Kind.ONLY_ORIGIN:
        st.info("Nothing to train: the constrained decoder could only output 0. Paint fewer 0 "
                "blocks or larger blocks.")
        shell.end_page()

    st.subheader("Train")
    c1, c2, c3 = st.columns(3)
    epochs = int(c1.number_input("Epochs per run", 1, MAX_EPOCHS[side], DEFAULT_EPOCHS[side],
                                 key=f"vae_epochs_{side}", disabled=hidden_controls,
                                 bind="query-params"))
    latent = int(c2.number_input("Latent dimension", 2, 32, 8, key="vae_latent",
                                 disabled=hidden_controls, bind="query-params"))
    hidden = int(c3.select_slider("Hidden width", [32, 64, 128, 256], value=128, key="vae_hidden",
                                  disabled=hidden_controls, bind="query-params"))
    config = VAEConfig(latent=latent, hidden=hidden, seed=seed)
    key = experiment_key(source, data, painting, config)
    st.caption(f"{len(data[0]):,} training and {len(data[1]):,} test images of {side} × {side}; "
               f"batch {config.batch}, Adam lr {config.lr}. Both models train on the same batches.")
    b1, b2 = st.columns(2)
    if b1.button(f"Train {epochs} epoch{'s' * (epochs != 1)}", type="primary", key="vae_train",
                 width="stretch"):
        try:
            train(key, cone, data, config, epochs)
        except cc.ConeError as exc:
            st.error(str(exc))
    if b2.button("Reset models", key="vae_reset", width="stretch"):
        for k in ("vae_exp", "vae_key", "vae_eval"):
            st.session_state.pop(k, None)
    exp = st.session_state.get("vae_exp")
    if exp is None or exp.epochs == 0:
        st.info("Press Train: on the 8 × 8 digits an epoch of both models takes well under a "
                "second.")
        shell.end_page()
    if st.session_state.get("vae_key") != key:
        st.info("The data, the painting or the model settings changed since these models were "
                "trained: the next Train starts new models. Results below are for the old ones.")
    results(exp)
