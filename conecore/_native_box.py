"""The box of the ConeLayer on a CPU as small C kernels, one pass over the rows each:

* forward: ``s = b / max(b, |z|_inf)`` per row, ``z *= s`` in place, and what the backward
  needs (``s`` and the row's peak after scaling, ``|z|_inf s``);
* backward: ``g s - [s < 1] sign(z_j) e_j <g, z s> s / (b t)`` for the row's peak
  coordinates ``j`` (``t`` of them: ties share), the same formula as
  :func:`conecore.layer._box_backward_torch`;
* inference's rays and box: ``z + mu R`` with ``mu`` flushed, then the box, in place
  (:func:`rays_box_`), each block of 8 output coordinates read once with its rays
  (:func:`ray_blocks`).

In torch operations the forward is seven passes over the ``n x d`` outputs or their ``(n, 1)``
reductions and the backward eight (the dot product, the peak mask, its count, the
combination), each with an operator call from Python; here each row is read once and written
once while it sits in the L1 cache. Where torch runs on GNU OpenMP (its Linux wheels) the rows
are split between torch's own OpenMP threads, the ones its next operation runs on: on a thread
of its own, the kernel left each output in one core's cache and the next torch operation paid
more than the kernel saved.

The kernels are compiled on first use with the system's C compiler (``$CC``, else ``cc``,
``gcc`` or ``clang``: the same one pycddlib needs) into ``$CONECORE_CACHE_DIR`` (default
``~/.cache/conecore``; under a private temporary directory where that is not writable), keyed
by the source, the flags and the CPU, and loaded with :mod:`ctypes`: no Python headers, no
torch headers, about a second once per machine. The folder must be this user's and writable by
nobody else. The kernels multiply in the same
order as the torch operations they stand for, so their outputs are the same bit for bit; the
self-check (:func:`available`) compares every kernel with them once per process. No
compiler, a failed compile, a failed self-check, ``CONECORE_NATIVE=0``, traced code, or tensors
that are not plain contiguous float32/float64 CPU tensors: the torch operations run.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

SOURCE_TEMPLATE = r"""
#include <math.h>
#include <stddef.h>
#include <string.h>

#ifdef _OPENMP
#define ROWS _Pragma("omp parallel for num_threads(threads) schedule(static) if (threads > 1)")
#else
#define ROWS
#endif

/* 8 lanes (AVX2's 8 floats; two registers of 4 doubles) in GCC's and clang's vector types. */
typedef TYPE VEC_SUF __attribute__((vector_size(8 * sizeof(TYPE))));
typedef SINT MASK_SUF __attribute__((vector_size(8 * sizeof(TYPE))));
static const VEC_SUF NEGZERO_SUF = {-0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0};

/* z <- z / max(1, |z|_inf / bound), as torch: peak, clamp(min=bound), reciprocal, * bound. */
static inline void box_row_SUF(TYPE *z, ptrdiff_t d, TYPE bound, TYPE *inv, TYPE *peak) {
  TYPE m = 0;
  int nan = 0;
#pragma omp simd reduction(max:m) reduction(|:nan)
  for (ptrdiff_t j = 0; j < d; ++j) {
    TYPE v = FABS(z[j]);
    m = v > m ? v : m;
    nan |= z[j] != z[j];
  }
  if (nan) m = (TYPE)NAN;                    /* amax propagates NaN */
  TYPE c = (m != m || m > bound) ? m : bound; /* clamp(min=bound) */
  TYPE s = (TYPE)1 / c;                       /* reciprocal_() */
  s = s * bound;                              /* mul_(bound) */
#pragma omp simd
  for (ptrdiff_t j = 0; j < d; ++j) z[j] = z[j] * s;
  if (inv) { /* what the backward needs; NULL in inference */
    *inv = s;
    *peak = m * s;
  }
}

/* res <- g s - [s < 1] o_j <g, o> s / (bound ties peak) at the peak's coordinates j
   (|o_j| >= peak; ties of them), as layer._box_backward_torch. */
static inline void box_grad_row_SUF(const TYPE *g, const TYPE *o, ptrdiff_t d, TYPE bound,
                                    TYPE s, TYPE p, TYPE *res) {
  TYPE dot = 0, ties = 0;
#pragma omp simd reduction(+:dot, ties)
  for (ptrdiff_t j = 0; j < d; ++j) {
    dot += g[j] * o[j];
    ties += FABS(o[j]) >= p ? (TYPE)1 : (TYPE)0;
  }
  const TYPE neg = -(s < (TYPE)1 ? dot * s / (bound * ties * p) : (TYPE)0);
#pragma omp simd
  for (ptrdiff_t j = 0; j < d; ++j) {
    TYPE peak_j = FABS(o[j]) >= p ? o[j] : (TYPE)0;
    res[j] = peak_j * neg + g[j] * s;
  }
}

/* The peak |z|_inf (NaN if any) of a row whose maximum and NaN flags were gathered by lane, then
   z <- z * s as box_row_SUF. */
static inline void box_scale_SUF(TYPE *z, ptrdiff_t d, TYPE bound, const TYPE *lanes,
                                 const int *nans) {
  TYPE m = 0;
  int nan = 0;
  for (int t = 0; t < 8; ++t) {
    m = lanes[t] > m ? lanes[t] : m;
    nan |= nans[t];
  }
  if (nan) m = (TYPE)NAN;
  TYPE c = (m != m || m > bound) ? m : bound;
  TYPE s = (TYPE)1 / c;
  s = s * bound;
#pragma omp simd
  for (ptrdiff_t j = 0; j < d; ++j) z[j] = z[j] * s;
}

/* z <- box(z + sum_j mu_j r_j) in place, row by row (zero: start from 0, not z; bound <= 0: no
   box), mu flushed in place (mu_j <= tiny set to 0). The rays are stored by blocks of 8 output
   coordinates: block p's rays are ray[ptr[p]] to ray[ptr[p + 1] - 1] (in increasing order),
   their 8 values at val + 8 e (zeros past d). Each block of the row is read once, gets its
   rays' terms in the order of the rays, a multiply and an add each (no fused multiply-add),
   as z + mu_j * r_j in torch, is written once, and its peak is kept by lane for the box. A
   row with a non-finite coefficient adds every ray over the whole row (inf * 0 is NaN, as in
   a product). */
void conecore_rays_box_SUF(TYPE *z, TYPE *mu, ptrdiff_t n, ptrdiff_t d, ptrdiff_t k,
                           const TYPE *R, const long long *ptr, const long long *ray,
                           const TYPE *val, double tiny, int zero, double bound, int threads) {
  const ptrdiff_t full = d / 8;
  ROWS
  for (ptrdiff_t i = 0; i < n; ++i) {
    TYPE *o = z + i * d;
    TYPE *m = mu + i * k;
    int finite = 1;
    for (ptrdiff_t j = 0; j < k; ++j) {
      const TYPE c = m[j] <= (TYPE)tiny ? (TYPE)0 : m[j];
      m[j] = c;
      finite &= c - c == 0;
    }
    if (zero) {
#pragma omp simd
      for (ptrdiff_t t = 0; t < d; ++t) o[t] = 0;
    }
    if (!finite) {
      for (ptrdiff_t j = 0; j < k; ++j) {
        const TYPE c = m[j];
        const TYPE *r = R + j * d;
#pragma omp simd
        for (ptrdiff_t t = 0; t < d; ++t) o[t] = o[t] + c * r[t];
      }
      if (bound > 0) box_row_SUF(o, d, (TYPE)bound, NULL, NULL);
      continue;
    }
    VEC_SUF peak = {0}; /* the peak and the NaNs, by lane */
    MASK_SUF nan = {0};
    for (ptrdiff_t p = 0; p < full; ++p) {
      TYPE *op = o + 8 * p;
      VEC_SUF acc, v;
      memcpy(&acc, op, sizeof acc);
      for (long long e = ptr[p]; e < ptr[p + 1]; ++e) {
        memcpy(&v, val + 8 * e, sizeof v);
        acc = acc + m[ray[e]] * v;
      }
      memcpy(op, &acc, sizeof acc);
      const MASK_SUF bits = (MASK_SUF)acc & ~(MASK_SUF)NEGZERO_SUF; /* |acc| */
      const MASK_SUF more = (VEC_SUF)bits > peak;
      peak = (VEC_SUF)((bits & more) | ((MASK_SUF)peak & ~more));
      nan |= acc != acc;
    }
    TYPE lanes[8];
    int nans[8];
    for (int t = 0; t < 8; ++t) {
      lanes[t] = peak[t];
      nans[t] = nan[t] != 0;
    }
    if (full * 8 < d) { /* the last, partial block */
      TYPE *op = o + 8 * full;
      const ptrdiff_t rest = d - 8 * full;
      for (long long e = ptr[full]; e < ptr[full + 1]; ++e) {
        const TYPE c = m[ray[e]];
        const TYPE *v = val + 8 * e;
        for (ptrdiff_t t = 0; t < rest; ++t) op[t] = op[t] + c * v[t];
      }
      for (ptrdiff_t t = 0; t < rest; ++t) {
        const TYPE a = FABS(op[t]);
        lanes[t] = a > lanes[t] ? a : lanes[t];
        nans[t] |= op[t] != op[t];
      }
    }
    if (bound > 0) box_scale_SUF(o, d, (TYPE)bound, lanes, nans);
  }
}

void conecore_box_forward_SUF(TYPE *z, ptrdiff_t n, ptrdiff_t d, double bound, TYPE *inv,
                              TYPE *peak, int threads) {
  ROWS
  for (ptrdiff_t i = 0; i < n; ++i)
    box_row_SUF(z + i * d, d, (TYPE)bound, inv ? inv + i : NULL, inv ? peak + i : NULL);
}

void conecore_box_backward_SUF(const TYPE *g, const TYPE *out, const TYPE *inv,
                               const TYPE *peak, ptrdiff_t n, ptrdiff_t d, double bound,
                               TYPE *res, int threads) {
  ROWS
  for (ptrdiff_t i = 0; i < n; ++i)
    box_grad_row_SUF(g + i * d, out + i * d, d, (TYPE)bound, inv[i], peak[i], res + i * d);
}
"""

SOURCE = "\n".join(
    SOURCE_TEMPLATE.replace("SINT", i).replace("TYPE", t).replace("SUF", s).replace("FABS", f)
    for t, s, f, i in (("float", "f32", "fabsf", "int"), ("double", "f64", "fabs", "long long")))
SUFFIXES = {torch.float32: "f32", torch.float64: "f64"}
_TINY = {dtype: torch.finfo(dtype).tiny for dtype in SUFFIXES}
# No fused multiply-adds: the forward's products are rounded as torch's are (bit for bit).
BASE_FLAGS = ["-O3", "-fPIC", "-shared", "-ffp-contract=off"]
EXTRA_FLAGS = [["-march=native", "-fopenmp-simd"], ["-fopenmp-simd"], []]  # first that builds
# Rows split between torch's own OpenMP threads (the ones its operations run on, so the next
# operation finds its half of the rows in its core's cache), where torch runs on GNU OpenMP.
OPENMP_FLAGS = ["-march=native", "-fopenmp"]
PARALLEL_MIN = 1 << 15  # elements below which one thread does every row

_LOCK = threading.Lock()
_LIB: ctypes.CDLL | None = None
_STATE: bool | None = None  # None: not tried yet in this process
_PARALLEL = False  # the loaded kernels run on torch's OpenMP threads
# The loaded kernels by dtype (a dict lookup: the layer's Python is a good part of its time).
_FORWARD: dict[torch.dtype, Callable[..., None]] = {}
_BACKWARD: dict[torch.dtype, Callable[..., None]] = {}
_RAYS: dict[torch.dtype, Callable[..., None]] = {}


def compiler() -> list[str] | None:
    """The C compiler's command: ``$CC`` (``ccache gcc`` too), else the first of ``cc``,
    ``gcc``, ``clang`` found; ``None`` where there is none."""
    cc = os.environ.get("CC", "").split()
    if cc:
        path = shutil.which(cc[0])
        return [path, *cc[1:]] if path else None
    found = next((p for p in map(shutil.which, ("cc", "gcc", "clang")) if p), None)
    return [found] if found else None


def _cpu_id() -> str:
    """What ``-march=native`` depends on: the CPU's model and flags (Linux), else platform."""
    with contextlib.suppress(OSError):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return "\n".join(sorted({ln for ln in lines if ln.startswith(("model name", "flags"))}))
    return f"{platform.machine()} {platform.processor()}"


def cache_dir() -> Path:
    """``$CONECORE_CACHE_DIR``, else ``$XDG_CACHE_HOME/conecore`` or ``~/.cache/conecore``;
    where that cannot be created, a directory of this user's under the temporary directory."""
    env = os.environ.get("CONECORE_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "conecore"
    try:
        path.mkdir(parents=True, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"conecore-{uid}"


def torch_uses_gnu_openmp() -> bool:
    """Whether this process has GNU OpenMP (``libgomp.so.1``) loaded already, as torch's Linux
    wheels do: a library built with ``-fopenmp`` then shares torch's threads instead of
    starting a second pool of its own."""
    if not sys.platform.startswith("linux") or torch.get_num_threads() < 2:
        return False
    try:
        ctypes.CDLL("libgomp.so.1", mode=os.RTLD_NOLOAD)
        return True
    except OSError:
        return False


def _private(folder: Path) -> bool:
    """Whether a library in ``folder`` can only have been put there by this user: the folder is
    this user's and nobody else may write to it (a shared temporary folder must not hand us
    someone else's code)."""
    st = folder.stat()
    return folder.is_dir() and st.st_uid == os.getuid() and not st.st_mode & 0o022


def _build(cc: list[str]) -> tuple[Path, bool] | None:
    """Compile (or find already compiled) the shared library: its path and whether it runs on
    torch's OpenMP threads; ``None`` where nothing builds."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not _private(folder):
        return None
    ident = subprocess.run([*cc, "--version"], capture_output=True, text=True,
                           timeout=30).stdout
    # -fopenmp links GNU OpenMP only with gcc (clang's links LLVM's libomp: a second runtime).
    gnu = "clang" not in ident.lower() and "free software foundation" in ident.lower()
    for extra in [OPENMP_FLAGS] * (gnu and torch_uses_gnu_openmp()) + EXTRA_FLAGS:
        parallel = extra is OPENMP_FLAGS
        flags = BASE_FLAGS + extra
        key = hashlib.sha256("\0".join([SOURCE, *cc, ident, *flags, _cpu_id(), sys.platform])
                             .encode()).hexdigest()[:16]
        lib = folder / f"box_{key}.so"
        if lib.exists():
            return lib, parallel
        src = folder / f"box_{key}.{os.getpid()}.{threading.get_ident()}.c"
        tmp = lib.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            src.write_text(SOURCE)
            done = subprocess.run([*cc, *flags, str(src), "-o", str(tmp), "-lm"],
                                  capture_output=True, timeout=120)
            if done.returncode == 0:
                os.replace(tmp, lib)  # atomic: a concurrent build writes the same file
                return lib, parallel
        finally:
            for leftover in (src, tmp):
                with contextlib.suppress(OSError):
                    leftover.unlink()
    return None


def _load() -> ctypes.CDLL | None:
    global _PARALLEL
    if os.environ.get("CONECORE_NATIVE", "1") == "0" or not hasattr(os, "getuid"):
        return None  # switched off, or Windows (no cc, no .so)
    cc = compiler()
    if cc is None:
        return None
    try:
        built = _build(cc)
        if built is None:
            return None
        lib = ctypes.CDLL(str(built[0]))
        _PARALLEL = built[1]
    except (OSError, subprocess.SubprocessError):
        return None
    p, n, i, f = ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int, ctypes.c_double
    for dtype, suffix in SUFFIXES.items():
        fwd = getattr(lib, f"conecore_box_forward_{suffix}")
        fwd.argtypes, fwd.restype = [p, n, n, f, p, p, i], None
        _FORWARD[dtype] = fwd
        bwd = getattr(lib, f"conecore_box_backward_{suffix}")
        bwd.argtypes, bwd.restype = [p, p, p, p, n, n, f, p, i], None
        _BACKWARD[dtype] = bwd
        rays = getattr(lib, f"conecore_rays_box_{suffix}")
        rays.argtypes, rays.restype = [p, p, n, n, n, p, p, p, p, f, i, f, i], None
        _RAYS[dtype] = rays
    return lib


def _threads(t: torch.Tensor) -> int:
    return torch.get_num_threads() if _PARALLEL and t.numel() >= PARALLEL_MIN else 1


def box_forward_(z: torch.Tensor, bound: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``z`` (contiguous, ``(n, d)``) scaled into the box in place; ``z, s, |z|_inf s``."""
    assert _LIB is not None
    n, d = z.shape
    inv, peak = z.new_empty(n, 1), z.new_empty(n, 1)
    _FORWARD[z.dtype](z.data_ptr(), n, d, bound, inv.data_ptr(), peak.data_ptr(), _threads(z))
    return z, inv, peak


def box_(z: torch.Tensor, bound: float) -> torch.Tensor:
    """``z`` (contiguous, ``(n, d)``) scaled into the box in place, saving nothing (inference):
    the caller has checked :func:`usable`, or made ``z`` itself and checked :func:`available`."""
    n, d = z.shape
    _FORWARD[z.dtype](z.data_ptr(), n, d, bound, None, None, _threads(z))
    return z


def ray_blocks(rays: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The rays (``k x d``) as :func:`rays_box_` reads them: by blocks of 8 output
    coordinates, the rays that hold a non-zero there. ``ptr`` (one more than the blocks:
    block ``p``'s rays are ``ray[ptr[p]:ptr[p + 1]]``, in increasing order), ``ray`` and each
    one's 8 values there (zeros past ``d``). The checkerboard's rays (a 7 x 7 block of pixels
    each, 49 of 784 coordinates) take 196 blocks, one or two on each of the 98; dense rays
    all ``k`` on each."""
    k, d = rays.shape
    padded = rays.new_zeros(k, -(-d // 8) * 8)
    padded[:, :d] = rays
    blocks = padded.reshape(k, -1, 8)
    used = (blocks != 0).any(-1).T  # (blocks, k)
    ptr = torch.zeros(used.shape[0] + 1, dtype=torch.int64)
    ptr[1:] = used.sum(1).cumsum(0)
    p, j = used.nonzero(as_tuple=True)  # by block, then by ray
    return ptr, j, blocks[j, p].contiguous()


def rays_box_(z: torch.Tensor | None, mu: torch.Tensor, rays: torch.Tensor,
              blocks: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
              bound: float | None) -> torch.Tensor:
    """``z + mu R`` scaled into the box (``bound`` None: no box), in place in ``z`` (``(n, d)``,
    contiguous; ``None``: a new tensor, from 0), with ``mu`` (``(n, k)``, contiguous, the
    caller's own: flushed in place) set to 0 below the dtype's smallest normal number, and
    ``blocks`` from :func:`ray_blocks`: one pass over the rows. The caller has checked
    :func:`available` and the tensors."""
    n, k = mu.shape
    d = rays.shape[1]
    out = mu.new_empty(n, d) if z is None else z
    ptr, ray, val = blocks
    _RAYS[mu.dtype](out.data_ptr(), mu.data_ptr(), n, d, k, rays.data_ptr(), ptr.data_ptr(),
                    ray.data_ptr(), val.data_ptr(), _TINY[mu.dtype], z is None, bound or 0.0,
                    _threads(out))
    return out


def box_backward(g: torch.Tensor, out: torch.Tensor, inv: torch.Tensor, peak: torch.Tensor,
                 bound: float) -> torch.Tensor:
    """The gradient through the box (a new tensor) from :func:`box_forward_`'s outputs."""
    assert _LIB is not None
    g = g.contiguous()
    n, d = out.shape
    res = torch.empty_like(out)
    _BACKWARD[out.dtype](g.data_ptr(), out.data_ptr(), inv.data_ptr(), peak.data_ptr(), n, d,
                         bound, res.data_ptr(), _threads(out))
    return res


def usable(*tensors: torch.Tensor) -> bool:
    """Whether the kernels may run on these tensors: eager (not traced, not compiled), plain
    contiguous float32/float64 CPU tensors of one dtype, and :func:`available`."""
    dtype = tensors[0].dtype
    if dtype not in SUFFIXES or torch.jit.is_tracing() or torch.compiler.is_compiling():
        return False
    for t in tensors:
        if type(t) is not torch.Tensor or not t.is_cpu or t.dtype != dtype or not t.is_contiguous():
            return False
    return available()


def available() -> bool:
    """Compiled, loaded and checked against the torch operations, once per process (a
    difference: a warning, and the torch operations from then on)."""
    global _LIB, _STATE
    if _STATE is None:
        with _LOCK:
            if _STATE is None:
                _LIB = _load()
                _STATE = _LIB is not None and _self_check()
                if not _STATE:
                    _LIB = None
                    _FORWARD.clear()
                    _BACKWARD.clear()
                    _RAYS.clear()
    return _STATE


def _self_check() -> bool:
    from conecore.layer import _box_backward_torch, _box_saved_torch

    try:
        gen = torch.Generator().manual_seed(0)
        for dtype in SUFFIXES:
            z = torch.randn(70, 1000, generator=gen, dtype=dtype) * 2
            z[0] = 0.25  # inside the box: not scaled
            z[1, :3] = z[1].abs().max() + 1  # a three-way tie at the peak
            z[2, 5] = -10  # a negative peak
            g = torch.randn(z.shape, generator=gen, dtype=dtype)
            for bound in (1.0, 0.7):
                want = _box_saved_torch(z.clone(), bound)
                got = box_forward_(z.clone(), bound)
                if not all(torch.equal(a, b) for a, b in zip(want, got, strict=True)):
                    raise AssertionError("forward differs")
                if not torch.equal(box_(z.clone(), bound), want[0]):
                    raise AssertionError("inference forward differs")
                gw = _box_backward_torch(g, *want, bound)
                gg = box_backward(g, *got, bound)
                if not torch.allclose(gg, gw, rtol=1e-4, atol=1e-6):
                    raise AssertionError("backward differs")
            _check_rays_box(gen, dtype, _box_saved_torch)
        return True
    except Exception as exc:  # anything: the torch operations are used instead
        warnings.warn(f"conecore: the compiled box kernels failed their self-check ({exc}); "
                      "using the torch operations", RuntimeWarning, stacklevel=3)
        return False


def rays_box_torch(z: torch.Tensor | None, mu: torch.Tensor, rays: torch.Tensor,
                   bound: float | None, box_torch: Callable) -> torch.Tensor:
    """What :func:`rays_box_` computes, in torch operations in its order (the reference of the
    self-check and the tests): ``mu`` flushed below the smallest normal number, the rays added
    one by one (from 0 where ``z`` is None), then the box by ``box_torch``
    (:func:`conecore.layer._box_saved_torch`)."""
    tiny = _TINY[rays.dtype]
    out = torch.zeros(mu.shape[0], rays.shape[1], dtype=rays.dtype) if z is None else z.clone()
    for j in range(rays.shape[0]):
        c = mu[:, j:j + 1]
        out = out + torch.where(c <= tiny, 0.0, c) * rays[j]
    return out if bound is None else box_torch(out, bound)[0]


def _check_rays_box(gen: torch.Generator, dtype: torch.dtype, box_torch: Callable) -> None:
    """:func:`rays_box_` against the torch operations in its order, bit for bit: sparse rays
    whose last block runs past ``d``, a dense ray, coefficients below the flush, zero,
    negative, NaN and inf, with and without the box, from ``z`` and from 0."""
    n, d, k = 40, 203, 7
    rays = torch.randn(k, d, generator=gen, dtype=dtype)
    rays[:5] *= torch.rand(5, d, generator=gen, dtype=dtype) < 0.1  # sparse; ray 5, 6 dense
    rays[0, -3:] = 1.5  # a block past d
    mu = torch.randn(n, k, generator=gen, dtype=dtype).abs_() * 3
    mu[0] = 0.0  # row 0: from 0, only a coefficient below the flush, which must add nothing
    mu[0, :3] = torch.tensor([0.0, -1.0, _TINY[dtype] / 4])
    mu[1, 2], mu[2, 4] = float("nan"), float("inf")
    blocks = ray_blocks(rays)
    z = torch.randn(n, d, generator=gen, dtype=dtype)
    for start in (z, None):
        for bound in (None, 1.0, 0.7):
            got = rays_box_(None if start is None else start.clone(), mu.clone(), rays, blocks,
                             bound)
            ref = rays_box_torch(start, mu, rays, bound, box_torch)
            if not torch.allclose(got, ref, rtol=0, atol=0, equal_nan=True):
                raise AssertionError("rays and box differ")


def reset() -> None:
    """Forget the loaded kernels (tests): the next :func:`available` loads and checks again."""
    global _LIB, _STATE
    with _LOCK:
        _LIB, _STATE = None, None
        _FORWARD.clear()
        _BACKWARD.clear()
        _RAYS.clear()
