"""The box of the ConeLayer on a CPU as small C kernels, one pass over the rows each:

* forward: ``s = b / max(b, |z|_inf)`` per row, ``z *= s`` in place, and what the backward
  needs (``s`` and the row's peak after scaling, ``|z|_inf s``);
* backward: ``g s - [s < 1] sign(z_j) e_j <g, z s> s / (b t)`` for the row's peak
  coordinates ``j`` (``t`` of them: ties share), the same formula as
  :func:`conecore.layer._box_backward_torch`;
* inference's rays and box: ``z + mu R`` with ``mu`` flushed, then the box, in place
  (:func:`rays_box_`), each block of 8 output coordinates read once with its rays
  (:func:`ray_blocks`);
* inference's ray coefficients: ``nonneg(h W^T + b)``, four rows and 16 coefficients at a
  time, the maps on 8 lanes with exp and log1p as polynomials (:func:`coef`);
* training's line map on the outputs and the box, with a sparse orthonormal basis ``S`` of
  ``row(A)``: ``box(y + (mu R_S - y S^T) S)`` in place and its backward (:func:`line_box_`,
  :func:`line_box_backward`).

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
torch headers, one to two seconds once per machine (the float32 and float64 kernels by two
compiler processes at once, then linked). Where ``-march=native`` (``-mcpu=native`` on 64-bit
Arm) fails and plainer flags build, a warning says so and the failed flags are not tried again
(a ``.failed`` marker). The folder must be this user's and writable by nobody else. The box and
the rays multiply in the same order as the torch operations they stand for, so their outputs
are the same bit for bit; the coefficients' and the line map's sums run in another order
(round-off apart). The self-check (:func:`available`) compares every kernel with the torch
operations once per process (bit for bit, or within the rounding of the sums). No compiler, a
failed compile, a failed self-check, ``CONECORE_NATIVE=0``, traced code, or tensors that are
not plain contiguous float32/float64 CPU tensors: the torch operations run.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import math
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
from typing import Any

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

/* z <- z * s, s = bound / max(bound, m), as torch: clamp(min=bound), reciprocal, * bound (m: the
   row's peak |z|_inf, NaN if any); inv and peak (NULL in inference): s and m s. */
static inline void scale_by_peak_SUF(TYPE *z, ptrdiff_t d, TYPE bound, TYPE m, TYPE *inv,
                                     TYPE *peak) {
  TYPE c = (m != m || m > bound) ? m : bound; /* clamp(min=bound) */
  TYPE s = (TYPE)1 / c;                       /* reciprocal_() */
  s = s * bound;                              /* mul_(bound) */
#pragma omp simd
  for (ptrdiff_t j = 0; j < d; ++j) z[j] = z[j] * s;
  if (inv) { /* what the backward needs */
    *inv = s;
    *peak = m * s;
  }
}

/* z <- z / max(1, |z|_inf / bound): the peak (amax propagates NaN), then the scale. */
static inline void box_row_SUF(TYPE *z, ptrdiff_t d, TYPE bound, TYPE *inv, TYPE *peak) {
  TYPE m = 0;
  int nan = 0;
#pragma omp simd reduction(max:m) reduction(|:nan)
  for (ptrdiff_t j = 0; j < d; ++j) {
    TYPE v = FABS(z[j]);
    m = v > m ? v : m;
    nan |= z[j] != z[j];
  }
  scale_by_peak_SUF(z, d, bound, nan ? (TYPE)NAN : m, inv, peak);
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

/* |v| as integers: the order of |v| for numbers, and above every number (inf included) for
   NaN; the larger of two such by lanes. */
#define ABSBITS_SUF(v) ((MASK_SUF)(v) & ~(MASK_SUF)NEGZERO_SUF)
static inline MASK_SUF imax_SUF(MASK_SUF a, MASK_SUF b) {
  const MASK_SUF more = a > b;
  return (a & more) | (b & ~more);
}

/* The box from the row's peak by lanes as ABSBITS_SUF (lanes holding NaN's bits: NaN). */
static inline void box_scale_SUF(TYPE *z, ptrdiff_t d, TYPE bound, MASK_SUF lanes, TYPE *inv,
                                 TYPE *peak) {
  const VEC_SUF inf = NEGZERO_SUF * 0 + (TYPE)INFINITY;
  const MASK_SUF inf_bits = ABSBITS_SUF(inf);
  SINT top = 0;
  for (int t = 0; t < 8; ++t) top = lanes[t] > top ? lanes[t] : top;
  TYPE m;
  memcpy(&m, &top, sizeof m);
  scale_by_peak_SUF(z, d, bound, top > inf_bits[0] ? (TYPE)NAN : m, inv, peak);
}

/* One block of 8 coordinates: acc + its w rays' terms, in their order. */
static inline __attribute__((always_inline)) VEC_SUF terms_SUF(VEC_SUF acc, const TYPE *m,
                                                              const int *ray, const TYPE *val,
                                                              long long w) {
  for (long long e = 0; e < w; ++e) {
    VEC_SUF v;
    memcpy(&v, val + 8 * e, sizeof v);
    acc = acc + m[ray[e]] * v;
  }
  return acc;
}

/* A row's full blocks, two at a time (two sums and two peaks in flight), each with w rays
   (w > 0: every block has w, padded with zeros; w = 0: as ptr says). */
static inline __attribute__((always_inline)) MASK_SUF rays_row_SUF(
    TYPE *o, const TYPE *m, ptrdiff_t full, const long long *ptr, const int *ray,
    const TYPE *val, long long w) {
  MASK_SUF q0 = {0}, q1 = {0};
  ptrdiff_t p = 0;
  for (; p + 2 <= full; p += 2) {
    VEC_SUF a0, a1;
    memcpy(&a0, o + 8 * p, sizeof a0);
    memcpy(&a1, o + 8 * p + 8, sizeof a1);
    const long long e0 = w ? w * p : ptr[p], e1 = w ? e0 + w : ptr[p + 1];
    const long long e2 = w ? e1 + w : ptr[p + 2];
    a0 = terms_SUF(a0, m, ray + e0, val + 8 * e0, e1 - e0);
    a1 = terms_SUF(a1, m, ray + e1, val + 8 * e1, e2 - e1);
    memcpy(o + 8 * p, &a0, sizeof a0);
    memcpy(o + 8 * p + 8, &a1, sizeof a1);
    q0 = imax_SUF(ABSBITS_SUF(a0), q0);
    q1 = imax_SUF(ABSBITS_SUF(a1), q1);
  }
  if (p < full) {
    VEC_SUF a0;
    memcpy(&a0, o + 8 * p, sizeof a0);
    const long long e0 = w ? w * p : ptr[p], e1 = w ? e0 + w : ptr[p + 1];
    a0 = terms_SUF(a0, m, ray + e0, val + 8 * e0, e1 - e0);
    memcpy(o + 8 * p, &a0, sizeof a0);
    q0 = imax_SUF(ABSBITS_SUF(a0), q0);
  }
  return imax_SUF(q0, q1);
}

/* Every block of a row (rays_row_SUF, then the last, partial one); the row's peak by lanes.
   A call a row, not inlined into its three callers: a third less to compile. */
static __attribute__((noinline)) MASK_SUF rays_all_SUF(TYPE *o, const TYPE *m, ptrdiff_t d,
                                                       const long long *ptr, const int *ray,
                                                       const TYPE *val, long long width) {
  const ptrdiff_t full = d / 8;
  MASK_SUF peak;
  switch (width) { /* constants: the loops over a block's rays unrolled */
  case 1: peak = rays_row_SUF(o, m, full, ptr, ray, val, 1); break;
  case 2: peak = rays_row_SUF(o, m, full, ptr, ray, val, 2); break;
  case 3: peak = rays_row_SUF(o, m, full, ptr, ray, val, 3); break;
  case 4: peak = rays_row_SUF(o, m, full, ptr, ray, val, 4); break;
  default: peak = rays_row_SUF(o, m, full, ptr, ray, val, 0);
  }
  if (full * 8 < d) { /* the last, partial block */
    TYPE *op = o + 8 * full;
    const ptrdiff_t rest = d - 8 * full;
    for (long long e = ptr[full]; e < ptr[full + 1]; ++e) {
      const TYPE c = m[ray[e]];
      const TYPE *v = val + 8 * e;
      for (ptrdiff_t t = 0; t < rest; ++t) op[t] = op[t] + c * v[t];
    }
    VEC_SUF last = {0};
    for (ptrdiff_t t = 0; t < rest; ++t) last[t] = op[t];
    peak = imax_SUF(ABSBITS_SUF(last), peak);
  }
  return peak;
}

/* o + sum_q a_q B_q over the row: by blocks (rays_all_SUF, B by output blocks as ray_blocks),
   or, where a coefficient is not finite, over every coordinate (inf * 0 is NaN, as in a
   product). The row's peak by lanes (of no use in the second case: the box's NaN comes
   from the scale pass's own maximum there). */
static inline MASK_SUF combine_SUF(TYPE *o, const TYPE *a, ptrdiff_t d, ptrdiff_t r,
                                   const TYPE *B, const long long *ptr, const int *idx,
                                   const TYPE *val, long long width, int *dense) {
  int finite = 1;
  for (ptrdiff_t q = 0; q < r; ++q) finite &= a[q] - a[q] == 0;
  *dense = !finite;
  if (finite) return rays_all_SUF(o, a, d, ptr, idx, val, width);
  for (ptrdiff_t q = 0; q < r; ++q) {
    const TYPE c = a[q];
    const TYPE *b = B + q * d;
#pragma omp simd
    for (ptrdiff_t t = 0; t < d; ++t) o[t] = o[t] + c * b[t];
  }
  const MASK_SUF none = {0};
  return none;
}

/* The box after combine_SUF: from its peak by lanes, or (dense) from the row. */
static inline void box_after_SUF(TYPE *o, ptrdiff_t d, TYPE bound, MASK_SUF lanes, int dense,
                                 TYPE *inv, TYPE *peak) {
  if (dense) {
    box_row_SUF(o, d, bound, inv, peak);
  } else {
    box_scale_SUF(o, d, bound, lanes, inv, peak);
  }
}

/* z <- box(z + sum_j mu_j r_j) in place, row by row (zero: start from 0, not z; bound <= 0: no
   box), mu flushed in place (mu_j <= tiny set to 0). The rays are stored by blocks of 8 output
   coordinates: block p's rays are ray[ptr[p]] to ray[ptr[p + 1] - 1] (in increasing order),
   their 8 values at val + 8 e (zeros past d); where every block has the same number w of them
   (padded with zeros), the loops are unrolled for w up to 4. Each block of the row is read
   once, gets its rays' terms in the order of the rays, a multiply and an add each (no fused
   multiply-add), as z + mu_j * r_j in torch, is written once, and its peak is kept by lane for
   the box. A row with a non-finite coefficient adds every ray over the whole row (inf * 0 is
   NaN, as in a product). */
void conecore_rays_box_SUF(TYPE *z, TYPE *mu, ptrdiff_t n, ptrdiff_t d, ptrdiff_t k,
                           const TYPE *R, const long long *ptr, const int *ray,
                           const TYPE *val, long long width, double tiny, int zero,
                           double bound, int threads) {
  ROWS
  for (ptrdiff_t i = 0; i < n; ++i) {
    TYPE *o = z + i * d;
    TYPE *m = mu + i * k;
    for (ptrdiff_t j = 0; j < k; ++j) m[j] = m[j] <= (TYPE)tiny ? (TYPE)0 : m[j];
    if (zero) {
#pragma omp simd
      for (ptrdiff_t t = 0; t < d; ++t) o[t] = 0;
    }
    int dense;
    const MASK_SUF lanes = combine_SUF(o, m, d, k, R, ptr, ray, val, width, &dense);
    if (bound > 0) box_after_SUF(o, d, (TYPE)bound, lanes, dense, NULL, NULL);
  }
}

/* The row's dot products with the basis rows: c_q = <y, B_q>, B_q's blocks of 8 coordinates
   that hold a non-zero at qpos[qptr[q]] to qpos[qptr[q + 1] - 1] (increasing), their values
   at qval + 8 e (zeros past d), two sums in flight; a last block that runs past d (the
   row's end: not read past) by itself. */
static inline TYPE hsum_SUF(VEC_SUF v) {
  return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
}

static inline TYPE dot_blocks_SUF(const TYPE *y, ptrdiff_t d, long long e, long long end,
                                  const long long *qpos, const TYPE *qval) {
  TYPE tail = 0;
  if (end > e && qpos[end - 1] + 8 > d) {
    --end;
    for (ptrdiff_t t = 0; t < d - qpos[end]; ++t) tail += y[qpos[end] + t] * qval[8 * end + t];
  }
  VEC_SUF a0 = {0}, a1 = {0}, v0, v1, y0, y1;
  for (; e + 2 <= end; e += 2) {
    memcpy(&v0, qval + 8 * e, sizeof v0);
    memcpy(&v1, qval + 8 * e + 8, sizeof v1);
    memcpy(&y0, y + qpos[e], sizeof y0);
    memcpy(&y1, y + qpos[e + 1], sizeof y1);
    a0 = a0 + y0 * v0;
    a1 = a1 + y1 * v1;
  }
  if (e < end) {
    memcpy(&v0, qval + 8 * e, sizeof v0);
    memcpy(&y0, y + qpos[e], sizeof y0);
    a0 = a0 + y0 * v0;
  }
  return hsum_SUF(a0 + a1) + tail;
}

static inline void dots_SUF(const TYPE *y, ptrdiff_t d, ptrdiff_t r, const long long *qptr,
                            const long long *qpos, const TYPE *qval, TYPE *c) {
  for (ptrdiff_t q = 0; q < r; ++q) c[q] = dot_blocks_SUF(y, d, qptr[q], qptr[q + 1], qpos, qval);
}

/* Training's line map and box ("outputs"), in place, row by row: with c = y Q (Q^T = B, r x d,
   orthonormal rows), a = mu Rc - c (Rc: the rays in Q's coordinates, k x r; mu NULL: no
   rays), z = box(y + a Q^T), and the box's s and peak as box_row_SUF (bound <= 0: no box).
   B by rows (qptr, qpos, qval) for the dots, by output blocks (ptr, idx, val, width) for the
   combination, both as the rays are stored. */
void conecore_line_box_SUF(TYPE *z, const TYPE *mu, ptrdiff_t n, ptrdiff_t d, ptrdiff_t k,
                           ptrdiff_t r, const TYPE *Rc, const TYPE *B, const long long *qptr,
                           const long long *qpos, const TYPE *qval, const long long *ptr,
                           const int *idx, const TYPE *val, long long width, double bound,
                           TYPE *inv, TYPE *peak, int threads) {
  ROWS
  for (ptrdiff_t i = 0; i < n; ++i) {
    TYPE *o = z + i * d;
    TYPE a[r > 0 ? r : 1];
    dots_SUF(o, d, r, qptr, qpos, qval, a);
    ptrdiff_t q = 0;
    for (; q + 8 <= r; q += 8) { /* a = mu Rc - c, 8 coordinates at a time */
      VEC_SUF acc, rc;
      memcpy(&acc, a + q, sizeof acc);
      acc = -acc;
      for (ptrdiff_t j = 0; mu && j < k; ++j) {
        memcpy(&rc, Rc + j * r + q, sizeof rc);
        acc = acc + mu[i * k + j] * rc;
      }
      memcpy(a + q, &acc, sizeof acc);
    }
    for (; q < r; ++q) {
      TYPE acc = -a[q];
      for (ptrdiff_t j = 0; mu && j < k; ++j) acc = acc + mu[i * k + j] * Rc[j * r + q];
      a[q] = acc;
    }
    int dense;
    const MASK_SUF lanes = combine_SUF(o, a, d, r, B, ptr, idx, val, width, &dense);
    if (bound > 0) box_after_SUF(o, d, (TYPE)bound, lanes, dense, inv + i, peak + i);
  }
}

/* Its backward: res = P box'(g) row by row (box_grad_row_SUF where out is not NULL, else g),
   coords = res Q (n x r, for the rays' gradient coords Rc^T), then res - coords Q^T in
   place. */
void conecore_line_box_grad_SUF(const TYPE *g, const TYPE *out, const TYPE *inv,
                                const TYPE *peak, ptrdiff_t n, ptrdiff_t d, ptrdiff_t r,
                                const TYPE *B, const long long *qptr, const long long *qpos,
                                const TYPE *qval, const long long *ptr, const int *idx,
                                const TYPE *val, long long width, double bound, TYPE *res,
                                TYPE *coords, int threads) {
  ROWS
  for (ptrdiff_t i = 0; i < n; ++i) {
    TYPE *o = res + i * d;
    if (out) {
      box_grad_row_SUF(g + i * d, out + i * d, d, (TYPE)bound, inv[i], peak[i], o);
    } else {
      memcpy(o, g + i * d, d * sizeof(TYPE));
    }
    TYPE *c = coords + i * r;
    TYPE a[r > 0 ? r : 1];
    dots_SUF(o, d, r, qptr, qpos, qval, c);
    for (ptrdiff_t q = 0; q < r; ++q) a[q] = -c[q];
    int dense;
    combine_SUF(o, a, d, r, B, ptr, idx, val, width, &dense);
  }
}

/* The maps of ray coefficients, 8 lanes at a time: exp and log1p by range reduction and
   polynomials in plain arithmetic (no libm call, so the compiler vectorises them; a few units
   in the last place from libm's), for the values the maps meet. */
#define SEL_SUF(mask, a, b) ((VEC_SUF)(((MASK_SUF)(a) & (mask)) | ((MASK_SUF)(b) & ~(mask))))
static const TYPE EXPC_SUF[] = EXP_COEFS;   /* 1/q!, q = EXP_DEG .. 0 */
static const TYPE LOGC_SUF[] = LOG_COEFS;   /* 1/(2q+1), q = LOG_DEG .. 0 */

/* exp(x): 0 below log(tiny) (what the flush gives anyway), NaN for NaN; x <= 60. */
static inline VEC_SUF exp_SUF(VEC_SUF x) {
  const VEC_SUF zero = {0};
  const MASK_SUF low = x < (TYPE)LN_TINY, nan = x != x;
  x = SEL_SUF(low | nan, zero + (TYPE)LN_TINY, x);
  const VEC_SUF y = x * (TYPE)1.44269504088896340736 + (TYPE)SHIFTER; /* round(x / log 2) */
  const VEC_SUF nf = y - (TYPE)SHIFTER;
  const VEC_SUF r = (x - nf * (TYPE)LN2_HI) - nf * (TYPE)LN2_LO;
  VEC_SUF poly = zero + EXPC_SUF[0];
  for (int q = 1; q <= EXP_DEG; ++q) poly = poly * r + EXPC_SUF[q];
  const MASK_SUF n = (MASK_SUF)y - (MASK_SUF)(zero + (TYPE)SHIFTER);
  const VEC_SUF scale = (VEC_SUF)((n + EXP_BIAS) << MANT_BITS);
  const VEC_SUF out = SEL_SUF(low, zero, poly * scale);
  return SEL_SUF(nan, x * 0 + (TYPE)NAN, out);
}

/* log1p(t) for 0 <= t <= 1: 2 atanh(s), s = t / (2 + t) <= 1/3, by its series. */
static inline VEC_SUF log1p_SUF(VEC_SUF t) {
  const VEC_SUF s = t / (t + (TYPE)2), s2 = s * s;
  VEC_SUF poly = s2 * 0 + LOGC_SUF[0];
  for (int q = 1; q <= LOG_DEG; ++q) poly = poly * s2 + LOGC_SUF[q];
  return (s + s) * poly;
}

/* nonneg(u) for the layer's maps (before the flush): 0 abs, 1 relu, 2 softplus (u past 20
   kept, as torch's threshold), 3 exp of min(u, 60), 4 square; NaN stays NaN. */
static inline VEC_SUF map_SUF(VEC_SUF u, int map) {
  const VEC_SUF zero = {0};
  const MASK_SUF sign = (MASK_SUF)NEGZERO_SUF;
  switch (map) {
  case 0: return (VEC_SUF)((MASK_SUF)u & ~sign);
  case 1: return SEL_SUF(u < 0, zero, u);
  case 2: {
    const VEC_SUF a = (VEC_SUF)((MASK_SUF)u & ~sign);
    const VEC_SUF soft = SEL_SUF(u > 0, u, zero) + log1p_SUF(exp_SUF(-a));
    return SEL_SUF(u > 20, u, soft);
  }
  case 3: return exp_SUF(SEL_SUF(u > 60, zero + 60, u));
  default: return u * u;
  }
}

/* The weights in registers, read once for the four rows (compilers fold a load into each
   multiply otherwise: twice the loads of the multiplies, which then wait on the loads). */
/* The coefficients' sums alone with fused multiply-adds where the CPU has them (the rest of
   this file is compiled without: the box and the rays match torch's operations bit for bit,
   and the coefficients' sums are checked within their rounding bound, which a fused
   multiply-add only tightens). */
#if defined(__clang__)
#define CONTRACT_FN
#define CONTRACT_BODY _Pragma("clang fp contract(fast)")
#elif defined(__GNUC__)
#define CONTRACT_FN __attribute__((optimize("fp-contract=fast")))
#define CONTRACT_BODY
#else
#define CONTRACT_FN
#define CONTRACT_BODY
#endif

#if defined(__AVX__) && (defined(__x86_64__) || defined(__i386__)) && TBYTES == 4
#define KEEP_SUF(a, b) __asm__("" : "+x"(a), "+x"(b)) /* (AVX's registers hold 8 floats) */
#else
#define KEEP_SUF(a, b) ((void)0)
#endif

/* mu <- nonneg(h WT + b) for the rows of h (n x m), WT (m x kp: the coefficients' weight
   transposed, kp = k rounded up to 16, zeros past k) and b (kp): four rows and 16
   coefficients at a time (eight sums in flight), each sum over h's columns in order, then
   the bias. */
CONTRACT_FN void conecore_coef_SUF(const TYPE *h, const TYPE *WT, const TYPE *b,
                                   ptrdiff_t n, ptrdiff_t m, ptrdiff_t k, ptrdiff_t kp,
                                   int map, TYPE *mu, int threads) {
  CONTRACT_BODY
  ROWS
  for (ptrdiff_t g = 0; g < (n + 3) / 4; ++g) {
    const TYPE *x[4];
    for (int r = 0; r < 4; ++r) x[r] = h + (4 * g + r < n ? 4 * g + r : 4 * g) * m;
    for (ptrdiff_t c = 0; c < kp; c += 16) {
      VEC_SUF acc[4][2] = {{{0}}};
      for (ptrdiff_t j = 0; j < m; ++j) {
        VEC_SUF w0, w1;
        memcpy(&w0, WT + j * kp + c, sizeof w0);
        memcpy(&w1, WT + j * kp + c + 8, sizeof w1);
        KEEP_SUF(w0, w1);
        for (int r = 0; r < 4; ++r) {
          acc[r][0] = acc[r][0] + x[r][j] * w0;
          acc[r][1] = acc[r][1] + x[r][j] * w1;
        }
      }
      VEC_SUF b0, b1;
      memcpy(&b0, b + c, sizeof b0);
      memcpy(&b1, b + c + 8, sizeof b1);
      for (int r = 0; r < 4 && 4 * g + r < n; ++r) {
        const VEC_SUF v[2] = {map_SUF(acc[r][0] + b0, map), map_SUF(acc[r][1] + b1, map)};
        TYPE *out = mu + (4 * g + r) * k + c;
        const ptrdiff_t keep = k - c < 16 ? k - c : 16;
        if (keep == 16) {
          memcpy(out, v, sizeof v);
        } else {
          for (ptrdiff_t t = 0; t < keep; ++t) out[t] = v[t / 8][t % 8];
        }
      }
    }
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



def _coefs(values: list[float]) -> str:
    return "{" + ", ".join(f"{v!r}" for v in values) + "}"


# Per type: the C names, exp's Taylor degree on |r| <= log(2) / 2 and the atanh series' terms
# on s <= 1/3 (truncation below half a unit in the last place), and exp's range reduction.
_TYPES = {
    "f32": dict(TYPE="float", FABS="fabsf", SINT="int", TBYTES=4, EXP_DEG=7, LOG_DEG=7,
                LN_TINY="-87.33654475f", SHIFTER="12582912.0f", LN2_HI="0.693359375f",
                LN2_LO="-2.12194440e-4f", EXP_BIAS="127", MANT_BITS="23"),
    "f64": dict(TYPE="double", FABS="fabs", SINT="long long", TBYTES=8, EXP_DEG=13, LOG_DEG=17,
                LN_TINY="-708.39641853226408", SHIFTER="6755399441055744.0",
                LN2_HI="6.93147180369123816490e-01", LN2_LO="1.90821492927058770002e-10",
                EXP_BIAS="1023", MANT_BITS="52"),
}


def _source(suffix: str, names: dict[str, Any]) -> str:
    text = SOURCE_TEMPLATE
    names = {**names,
             "EXP_COEFS": _coefs([1 / math.factorial(q) for q in range(names["EXP_DEG"], -1, -1)]),
             "LOG_COEFS": _coefs([1 / (2 * q + 1) for q in range(names["LOG_DEG"], -1, -1)])}
    for name in ("EXP_COEFS", "LOG_COEFS", "EXP_DEG", "LOG_DEG", "LN_TINY", "SHIFTER",
                 "LN2_HI", "LN2_LO", "EXP_BIAS", "MANT_BITS", "SINT", "TYPE", "FABS", "TBYTES"):
        text = text.replace(name, str(names[name]))
    return text.replace("SUF", suffix)


_PARTS = [_source(suffix, names) for suffix, names in _TYPES.items()]  # one per dtype
SOURCE = "\n".join(_PARTS)
SUFFIXES = {torch.float32: "f32", torch.float64: "f64"}
_TINY = {dtype: torch.finfo(dtype).tiny for dtype in SUFFIXES}
# No fused multiply-adds: the forward's products are rounded as torch's are (bit for bit).
BASE_FLAGS = ["-O3", "-fPIC", "-shared", "-ffp-contract=off"]
# This CPU's instructions: -march=native on x86; on 64-bit Arm (Apple silicon, Graviton) clang
# refuses -march=native ("the clang compiler does not support '-march=native'"), and gcc and
# clang both take -mcpu=native there.
NATIVE = "-mcpu=native" if platform.machine().lower() in ("arm64", "aarch64") else "-march=native"
EXTRA_FLAGS = [[NATIVE, "-fopenmp-simd"], ["-fopenmp-simd"], []]  # the first that builds
# Rows split between torch's own OpenMP threads (the ones its operations run on, so the next
# operation finds its half of the rows in its core's cache), where torch runs on GNU OpenMP.
OPENMP_FLAGS = [NATIVE, "-fopenmp"]
PARALLEL_MIN = 1 << 15  # elements below which one thread does every row

_LOCK = threading.Lock()
_LIB: ctypes.CDLL | None = None
_STATE: bool | None = None  # None: not tried yet in this process
_PARALLEL = False  # the loaded kernels run on torch's OpenMP threads
# The loaded kernels by dtype (a dict lookup: the layer's Python is a good part of its time).
_FORWARD: dict[torch.dtype, Callable[..., None]] = {}
_BACKWARD: dict[torch.dtype, Callable[..., None]] = {}
_RAYS: dict[torch.dtype, Callable[..., None]] = {}
_COEF: dict[torch.dtype, Callable[..., None]] = {}
_LINE: dict[torch.dtype, Callable[..., None]] = {}
_LINE_GRAD: dict[torch.dtype, Callable[..., None]] = {}
_KERNELS = (_FORWARD, _BACKWARD, _RAYS, _COEF, _LINE, _LINE_GRAD)


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
    """What :data:`NATIVE` depends on: the CPU's model and flags (Linux), else platform."""
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


_BUILD_TIMEOUT = 120.0  # seconds for each compiler process
_TIMED_OUT = "the compiler ran past its time limit"


def _compile(cc: list[str], flags: list[str], lib: Path) -> str | None:
    """Build ``lib`` with ``flags``: each dtype's kernels compiled at the same time (separate
    compiler processes: on two cores the first build takes the float64 half's time, not
    both halves'), then linked. ``None`` when it built, else the compiler's first error
    line."""
    stem = lib.with_suffix(f".{os.getpid()}.{threading.get_ident()}")
    sources = [stem.with_name(f"{stem.name}.{suffix}.c") for suffix in _TYPES]
    objects = [src.with_suffix(".o") for src in sources]
    tmp = stem.with_name(stem.name + ".tmp")
    compile_flags = [f for f in flags if f != "-shared"]
    jobs: list[subprocess.Popen[bytes]] = []
    try:
        for src, obj, text in zip(sources, objects, _PARTS, strict=True):
            src.write_text(text)
            jobs.append(subprocess.Popen([*cc, *compile_flags, "-c", str(src), "-o", str(obj)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        errors = [job.communicate(timeout=_BUILD_TIMEOUT)[1] for job in jobs]
        if all(job.returncode == 0 for job in jobs):
            done = subprocess.run([*cc, *flags, *map(str, objects), "-o", str(tmp), "-lm"],
                                  capture_output=True, timeout=_BUILD_TIMEOUT)
            if done.returncode == 0:
                os.replace(tmp, lib)  # atomic: a concurrent build writes the same file
                return None
            errors = [done.stderr]
        text = b"\n".join(errors).decode(errors="replace")
        return next((ln.strip() for ln in text.splitlines() if "error" in ln.lower()),
                    text.strip()[:200] or "the compiler failed")
    except subprocess.TimeoutExpired:
        return _TIMED_OUT
    finally:
        for job in jobs:  # none left running (a timeout, a failed start of the second)
            if job.poll() is None:
                job.kill()
                job.wait()
            if job.stderr is not None:
                job.stderr.close()
        for leftover in (*sources, *objects, tmp):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _build(cc: list[str]) -> tuple[Path, bool] | None:
    """Compile (or find already compiled) the shared library: its path and whether it runs on
    torch's OpenMP threads; ``None`` where nothing builds. The flags are tried in order. Where
    the first fail and plainer ones build, a warning says so once (the kernels then run
    without the CPU's own instructions, several times slower) and the failed flags leave a
    ``.failed`` marker, so later processes do not try them again; where nothing builds
    (no space left, a broken compiler) everything is tried again next time."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not _private(folder):
        return None
    ident = subprocess.run([*cc, "--version"], capture_output=True, text=True,
                           timeout=30).stdout
    # -fopenmp links GNU OpenMP only with gcc (clang's links LLVM's libomp: a second runtime).
    gnu = "clang" not in ident.lower() and "free software foundation" in ident.lower()
    failed: list[tuple[str, str, Path]] = []  # flags, the compiler's error, their marker
    for extra in [OPENMP_FLAGS] * (gnu and torch_uses_gnu_openmp()) + EXTRA_FLAGS:
        parallel = extra is OPENMP_FLAGS
        flags = BASE_FLAGS + extra
        key = hashlib.sha256("\0".join([SOURCE, *cc, ident, *flags, _cpu_id(), sys.platform])
                             .encode()).hexdigest()[:16]
        lib = folder / f"box_{key}.so"
        marker = lib.with_suffix(".failed")
        if lib.exists():
            return lib, parallel
        if marker.exists():
            continue
        error = _compile(cc, flags, lib)
        if error is not None:
            failed.append((" ".join(extra), error, marker))
            continue
        # Plainer flags built, so the failures were the flags' own (not a full disk or a
        # broken compiler, after which everything is tried again next time): marked.
        for _, error, flagged in failed:
            if error != _TIMED_OUT:  # a slow moment is not a broken flag
                with contextlib.suppress(OSError):
                    flagged.write_text(error + "\n")
        if failed:
            warnings.warn(f"conecore: the compiled kernels did not build with {failed[0][0]} "
                          f"({failed[0][1]}); they were built with plainer flags "
                          f"({' '.join(extra) or 'none'}) and may run more slowly",
                          RuntimeWarning, stacklevel=4)
        return lib, parallel
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
        rays.argtypes = [p, p, n, n, n, p, p, p, p, ctypes.c_longlong, f, i, f, i]
        rays.restype = None
        _RAYS[dtype] = rays
        coef = getattr(lib, f"conecore_coef_{suffix}")
        coef.argtypes, coef.restype = [p, p, p, n, n, n, n, i, p, i], None
        _COEF[dtype] = coef
        line = getattr(lib, f"conecore_line_box_{suffix}")
        line.argtypes = [p, p, n, n, n, n, p, p, p, p, p, p, p, p, ctypes.c_longlong, f, p, p, i]
        line.restype = None
        _LINE[dtype] = line
        grad = getattr(lib, f"conecore_line_box_grad_{suffix}")
        grad.argtypes = [p, p, p, p, n, n, n, p, p, p, p, p, p, p, ctypes.c_longlong, f, p, p, i]
        grad.restype = None
        _LINE_GRAD[dtype] = grad
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


def _by_eight(M: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``M`` (``k x d``) cut into blocks of 8 coordinates (``k x ceil(d / 8) x 8``, zeros past
    ``d``), and which of them hold a non-zero (``k x ceil(d / 8)``)."""
    k, d = M.shape
    padded = M.new_zeros(k, -(-d // 8) * 8)
    padded[:, :d] = M
    blocks = padded.reshape(k, -1, 8)
    return blocks, (blocks != 0).any(-1)


def ray_blocks(rays: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """The rays (``k x d``) as :func:`rays_box_` reads them: by blocks of 8 output
    coordinates, the rays that hold a non-zero there. ``ptr`` (one more than the blocks:
    block ``p``'s rays are ``ray[ptr[p]:ptr[p + 1]]``, in increasing order), ``ray`` (int32),
    each one's 8 values there (zeros past ``d``) and ``width``: where giving every block as
    many rays as the block with the most costs at most a quarter more, they are padded to
    that (with zeros, which add nothing) and ``width`` is that number, else 0. The
    checkerboard's rays (a 7 x 7 block of pixels each, 49 of 784 coordinates) are two on
    each of the 98 blocks; dense rays all ``k`` on each."""
    blocks, used = _by_eight(rays)
    used = used.T  # (blocks, k)
    counts = used.sum(1)
    most = int(counts.max())
    width = most if 4 * most * used.shape[0] <= 5 * int(counts.sum()) else 0
    if width:  # every block its first ``width`` rays: the used ones in order, then unused
        order = torch.sort((~used).to(torch.int8), dim=1, stable=True).indices[:, :width]
        p = torch.arange(used.shape[0]).repeat_interleave(width)
        j = order.reshape(-1)
        ptr = torch.arange(used.shape[0] + 1, dtype=torch.int64) * width
        return ptr, j.to(torch.int32), blocks[j, p].contiguous(), width  # unused: zeros
    ptr = torch.zeros(used.shape[0] + 1, dtype=torch.int64)
    ptr[1:] = counts.cumsum(0)
    p, j = used.nonzero(as_tuple=True)  # by block, then by ray
    return ptr, j.to(torch.int32), blocks[j, p].contiguous(), 0


def rays_box_(z: torch.Tensor | None, mu: torch.Tensor, rays: torch.Tensor,
              blocks: tuple[torch.Tensor, torch.Tensor, torch.Tensor, int],
              bound: float | None) -> torch.Tensor:
    """``z + mu R`` scaled into the box (``bound`` None: no box), in place in ``z`` (``(n, d)``,
    contiguous; ``None``: a new tensor, from 0), with ``mu`` (``(n, k)``, contiguous, the
    caller's own: flushed in place) set to 0 below the dtype's smallest normal number, and
    ``blocks`` from :func:`ray_blocks`: one pass over the rows. The caller has checked
    :func:`available` and the tensors."""
    n, k = mu.shape
    d = rays.shape[1]
    out = mu.new_empty(n, d) if z is None else z
    ptr, ray, val, width = blocks
    _RAYS[mu.dtype](out.data_ptr(), mu.data_ptr(), n, d, k, rays.data_ptr(), ptr.data_ptr(),
                    ray.data_ptr(), val.data_ptr(), width, _TINY[mu.dtype], z is None,
                    bound or 0.0, _threads(out))
    return out


def row_blocks(B: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The basis rows (``r x d``) for the dot products of :func:`line_box_`: row ``q``'s blocks
    of 8 coordinates that hold a non-zero are ``ptr[q]`` to ``ptr[q + 1]``, each block's first
    coordinate and its 8 values (zeros past ``d``)."""
    blocks, used = _by_eight(B)
    ptr = torch.zeros(B.shape[0] + 1, dtype=torch.int64)
    ptr[1:] = used.sum(1).cumsum(0)
    q, p = used.nonzero(as_tuple=True)
    return ptr, p * 8, blocks[q, p].contiguous()


LineBlocks = tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor],
                   tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]]
LINE_DENSITY = 0.5  # blocks of B that hold a non-zero, past which torch's products run


def line_blocks(B: torch.Tensor) -> LineBlocks | None:
    """The line basis as :func:`line_box_` reads it: by rows (:func:`row_blocks`) and by output
    blocks (:func:`ray_blocks`); ``None`` where more than ``LINE_DENSITY`` of its blocks hold a
    non-zero (a dense basis: MKL's products are faster than these loops). The checkerboard's
    basis (16 rows, a 7 x 7 block of pixels each) holds 196 of 1,568."""
    rows = row_blocks(B)
    if B.shape[0] == 0 or rows[2].shape[0] > LINE_DENSITY * B.shape[0] * -(-B.shape[1] // 8):
        return None
    return rows, ray_blocks(B)


def line_box_(z: torch.Tensor, mu: torch.Tensor | None, coords: torch.Tensor, B: torch.Tensor,
              blocks: LineBlocks, bound: float | None
              ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Training's line map and box in place in ``z`` (``y``, ``(n, d)``, contiguous):
    ``box(y + (mu Rc - y Q) Q^T)`` with ``Q^T = B`` (``r x d``, orthonormal rows), ``Rc`` =
    ``coords`` (``k x r``: the rays in ``Q``'s coordinates) and ``mu`` (``(n, k)`` or None);
    ``z`` and the box's ``s`` and peak (None without the box), as :func:`box_forward_`. The
    caller has checked :func:`usable` on every tensor."""
    n, d = z.shape
    r = B.shape[0]
    (qptr, qpos, qval), (ptr, idx, val, width) = blocks
    inv = peak = None
    if bound is not None:
        inv, peak = z.new_empty(n, 1), z.new_empty(n, 1)
    k = 0 if mu is None else mu.shape[1]
    _LINE[z.dtype](z.data_ptr(), None if mu is None else mu.data_ptr(), n, d, k, r,
                   coords.data_ptr(), B.data_ptr(), qptr.data_ptr(), qpos.data_ptr(),
                   qval.data_ptr(), ptr.data_ptr(), idx.data_ptr(), val.data_ptr(), width,
                   bound or 0.0, None if inv is None else inv.data_ptr(),
                   None if peak is None else peak.data_ptr(), _threads(z))
    return z, inv, peak


def line_box_backward(g: torch.Tensor, out: torch.Tensor | None, inv: torch.Tensor | None,
                      peak: torch.Tensor | None, B: torch.Tensor, blocks: LineBlocks,
                      bound: float | None) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`line_box_`'s backward to ``y``: ``P box'(g)`` (a new tensor) and the coordinates
    ``box'(g) Q`` (``(n, r)``: the rays' gradient is ``coords Rc^T``)."""
    g = g.to(B.dtype).contiguous()
    n, d = g.shape
    r = B.shape[0]
    (qptr, qpos, qval), (ptr, idx, val, width) = blocks
    res, coords = torch.empty_like(g), g.new_empty(n, r)
    box = out is not None
    _LINE_GRAD[g.dtype](g.data_ptr(), out.data_ptr() if box else None,
                        inv.data_ptr() if box else None, peak.data_ptr() if box else None,
                        n, d, r, B.data_ptr(), qptr.data_ptr(), qpos.data_ptr(), qval.data_ptr(),
                        ptr.data_ptr(), idx.data_ptr(), val.data_ptr(), width, bound or 0.0,
                        res.data_ptr(), coords.data_ptr(), _threads(g))
    return res, coords


MAPS = {"abs": 0, "relu": 1, "softplus": 2, "exp": 3, "square": 4}  # as map_SUF numbers them
COEF_MAX = 1 << 16  # elements of the coefficients' weight past which torch's product runs


def coef_weights(weight: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The ray coefficients' weight (``k x m``) and bias as :func:`coef` reads them:
    transposed (``m x kp``) and the bias (``kp``), ``kp`` = ``k`` rounded up to 16, zeros
    past ``k``."""
    k, m = weight.shape
    kp = -(-k // 16) * 16
    WT = weight.new_zeros(m, kp)
    WT[:, :k] = weight.T
    b = bias.new_zeros(kp)
    b[:k] = bias
    return WT, b


def coef(h: torch.Tensor, WT: torch.Tensor, b: torch.Tensor, k: int, nonneg: str) -> torch.Tensor:
    """``nonneg(h W^T + b)`` (``(n, k)``, a new tensor, not flushed) from :func:`coef_weights`'
    tensors, for ``h`` (``(n, m)``, contiguous): the product's sums in the order of ``h``'s
    columns, exp and log1p to a few units in the last place (the map is what ``mu >= 0``
    rests on, not the last bits). The caller has checked :func:`available` and the tensors."""
    n, m = h.shape
    mu = h.new_empty(n, k)
    _COEF[h.dtype](h.data_ptr(), WT.data_ptr(), b.data_ptr(), n, m, k, WT.shape[1],
                   MAPS[nonneg], mu.data_ptr(), _threads(h))
    return mu


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
                    for kernels in _KERNELS:
                        kernels.clear()
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
            _check_coef(gen, dtype)
            _check_line_box(gen, dtype, _box_saved_torch, _box_backward_torch)
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


SPECIAL_U = [0.0, -0.0, 1e-30, -1e-30, 0.5, -0.5, 1.0, -1.0, 3.3, -7.1, 19.9, 20.0, 20.1, 30.0,
             59.0, 61.0, 88.0, 100.0, -20.0, -80.0, -87.0, -87.3, -87.4, -88.0, -100.0, -700.0,
             -708.0, -709.0, -800.0, 1e10, -1e10, float("inf"), float("-inf"), float("nan")]


def coef_error(h: torch.Tensor, W: torch.Tensor, b: torch.Tensor, nonneg: str,
               mu: torch.Tensor) -> torch.Tensor:
    """How far :func:`coef`'s ``mu`` is from ``nonneg(h W^T + b)``, in units of what the sums
    may lose to rounding in any order (``(m + 2) eps (|h| |W|^T + |b|)``, the map's slope
    bounded by 1 for abs, relu, softplus and by ``mu`` for exp, ``2 |u|`` for square) plus a
    few units in the last place of ``mu``: at most 1 where the kernel is right."""
    eps = torch.finfo(h.dtype).eps
    wide = torch.float64
    u = torch.nn.functional.linear(h.to(wide), W.to(wide), b.to(wide))
    want = _unflushed(nonneg)(u)
    slack = (h.shape[1] + 2) * eps * (h.to(wide).abs() @ W.to(wide).abs().T + b.to(wide).abs())
    slope = {"exp": want, "square": 2 * u.abs() + slack}.get(nonneg, torch.ones_like(u))
    allowed = slope * slack + 8 * eps * want.abs() + torch.finfo(h.dtype).tiny
    return ((mu.to(wide) - want).abs() / allowed).nan_to_num(0.0, posinf=float("inf"))


def _unflushed(nonneg: str) -> Callable[[torch.Tensor], torch.Tensor]:
    from conecore.layer import _UNFLUSHED

    return _UNFLUSHED[nonneg]


def _check_coef(gen: torch.Generator, dtype: torch.dtype) -> None:
    """:func:`coef` against the torch operations: every map at the values where they change
    form (softplus' threshold, exp's clamp and underflow) and at zero, NaN and inf, to a few
    units in the last place after the flush; the product of random rows (a group of four
    and a rest; 19 coefficients: a group of 16 and a rest) within its rounding bound."""
    tiny = _TINY[dtype]
    u = torch.tensor(SPECIAL_U, dtype=dtype)
    WT, b = coef_weights(torch.zeros(len(u), 1, dtype=dtype), u)
    h = torch.ones(1, 1, dtype=dtype)
    n, m, k = 11, 37, 19
    hr = torch.randn(n, m, generator=gen, dtype=dtype) * 3
    Wr = torch.randn(k, m, generator=gen, dtype=dtype)
    br = torch.randn(k, generator=gen, dtype=dtype)
    WTr, bpr = coef_weights(Wr, br)
    for name in MAPS:
        got = coef(h, WT, b, len(u), name)[0]
        want = _unflushed(name)(u)
        got, want = (torch.where(t <= tiny, 0.0, t) for t in (got, want))
        if not torch.allclose(got, want, rtol=16 * torch.finfo(dtype).eps, atol=0,
                              equal_nan=True):
            raise AssertionError(f"the map {name} differs")
        mu = coef(hr, WTr, bpr, k, name)
        if float(coef_error(hr, Wr, br, name, mu).max()) > 1:
            raise AssertionError(f"the coefficients ({name}) differ")


def line_box_torch(y: torch.Tensor, mu: torch.Tensor | None, coords: torch.Tensor,
                   S: torch.Tensor, bound: float | None, box_torch: Callable
                   ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """What :func:`line_box_` computes, in torch operations (the reference of the self-check
    and the tests): ``y + (mu Rc - y S^T) S``, then the box by ``box_torch``."""
    w = -(y @ S.T) if mu is None else torch.addmm(y @ S.T, mu, coords, beta=-1)
    z = y + w @ S
    return (z, None, None) if bound is None else box_torch(z, bound)


def line_box_backward_torch(g: torch.Tensor, out: torch.Tensor | None, inv: torch.Tensor | None,
                            peak: torch.Tensor | None, S: torch.Tensor, bound: float | None,
                            box_backward_torch: Callable) -> tuple[torch.Tensor, torch.Tensor]:
    """What :func:`line_box_backward` computes, in torch operations."""
    if out is not None:
        g = box_backward_torch(g, out, inv, peak, bound)
    coords = g @ S.T
    return g - coords @ S, coords


def _check_line_box(gen: torch.Generator, dtype: torch.dtype, box_torch: Callable,
                    box_backward_torch: Callable) -> None:
    """:func:`line_box_` and :func:`line_box_backward` against the torch operations, to
    round-off (the sums run in another order): a sparse orthonormal basis whose rows end
    inside a block of 8, with and without rays and the box, a NaN coefficient."""
    n, d, r, k = 13, 203, 5, 3
    owner = torch.arange(d) * (r + 2) // d  # coordinate -> basis row (stripes; two of none)
    owner[-1] = 0  # row 0 in the last, partial block too
    S = torch.randn(r, d, generator=gen, dtype=dtype) * (owner == torch.arange(r)[:, None])
    S /= S.norm(dim=1, keepdim=True)
    blocks = line_blocks(S)
    assert blocks is not None
    coords = torch.randn(k, r, generator=gen, dtype=dtype)
    y = torch.randn(n, d, generator=gen, dtype=dtype) * 3
    g = torch.randn(n, d, generator=gen, dtype=dtype)
    mu = torch.rand(n, k, generator=gen, dtype=dtype) * 2
    mu[3, 1] = float("nan")
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    for m in (mu, None):
        for bound in (None, 1.0, 0.7):
            got = line_box_(y.clone(), m, coords, S, blocks, bound)
            want = line_box_torch(y, m, coords, S, bound, box_torch)
            for a, b in zip(got, want, strict=True):
                if a is not None and not torch.allclose(a, b, rtol=tol, atol=tol, equal_nan=True):
                    raise AssertionError("the line map and box differ")
            ok = slice(4, None)  # past the row with NaN; the outputs saved with the box only
            saved = [None] * 3 if bound is None else [t[ok] for t in got]
            back = line_box_backward(g[ok], *saved, S, blocks, bound)
            ref = line_box_backward_torch(g[ok], *saved, S, bound, box_backward_torch)
            for a, b in zip(back, ref, strict=True):
                if not torch.allclose(a, b, rtol=1e-4 if tol > 1e-6 else 1e-9, atol=tol):
                    raise AssertionError("the line map's backward differs")


def reset() -> None:
    """Forget the loaded kernels (tests): the next :func:`available` loads and checks again."""
    global _LIB, _STATE
    with _LOCK:
        _LIB, _STATE = None, None
        for kernels in _KERNELS:
            kernels.clear()
