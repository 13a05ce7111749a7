"""The ConeLayer's Triton kernels compiled ahead of time for an H100/H200 (sm_90), on this
machine, without a GPU: Triton's compiler and the ``ptxas`` bundled with the ``triton`` package
need no driver. The interpreter tests (``test_triton_kernel.py``) check what the kernels compute
but not that they compile: the interpreter accepts programs the compiler rejects, and it says
nothing of registers. Here every kernel compiles, with the block sizes and warps the launch
wrappers choose (``conecore._triton_rays_box._blocks``) for rows from 64 to the widest each
kernel takes, and does not run out of registers (then it spills them to local memory: a slow
memory round trip in the loop over each row block). Skipped where the ``triton`` package or
its NVIDIA back end is missing (not Linux x86_64)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

if importlib.util.find_spec("triton") is None:
    pytest.skip("the triton package is not installed", allow_module_level=True)

import triton

from conecore import _triton_rays_box as K
from conecore import layer as L

try:
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    from triton.knobs import nvidia as _nvidia_tools

    CUOBJDUMP = _nvidia_tools.cuobjdump.path
except Exception as exc:  # an older Triton or no NVIDIA back end: nothing to compile with
    pytest.skip(f"Triton's NVIDIA compiler is not usable here ({exc!r})", allow_module_level=True)

SM90 = GPUTarget("cuda", 90, 32)  # H100 / H200


def signature(fn: triton.JITFunction, consts: dict[str, object]) -> dict[str, str]:
    """The kernel's argument types as its launch passes them: float32 pointers, the float
    ``bound``, int32 sizes and strides, the constexprs given."""
    sig = {}
    for name in fn.arg_names:
        if name in consts:
            sig[name] = "constexpr"
        elif name.endswith("_ptr"):
            sig[name] = "*fp32"
        else:
            sig[name] = "fp32" if name == "bound" else "i32"
    return sig


def resources(fn: triton.JITFunction, d: int, max_d: int, **consts: object) -> dict[str, int]:
    """Compile ``fn`` for sm_90 with the wrappers' blocks for rows of ``d``: its registers per
    thread, and its local-memory stores and loads (``STL`` / ``LDL`` in the machine code: the
    kernels have no local arrays, so these are spilled registers; ptxas may reserve a small
    stack frame that nothing uses, so the frame's size is no measure)."""
    block_d, block_m, warps = K._blocks(d, max_d)
    consts = {**consts, "BLOCK_M": block_m, "BLOCK_D": block_d}
    source = ASTSource(fn=fn, signature=signature(fn, consts), constexprs=consts)
    compiled = triton.compile(source, target=SM90,
                              options={"num_warps": warps, "enable_fp_fusion": K.FP_FUSION})
    with tempfile.TemporaryDirectory() as tmp:
        cubin = Path(tmp) / "k.cubin"
        cubin.write_bytes(compiled.asm["cubin"])
        usage, sass = (subprocess.run([CUOBJDUMP, flag, str(cubin)], capture_output=True,
                                      text=True, check=True).stdout
                       for flag in ("--dump-resource-usage", "--dump-sass"))
    regs = re.search(r"\bREG:(\d+)", usage)
    assert regs is not None and "EXIT" in sass, usage  # the dumps read as expected
    return {"registers": int(regs[1]), "spills": len(re.findall(r"\b(?:STL|LDL)\b", sass))}


def assert_no_spills(name: str, fn: triton.JITFunction, d: int, max_d: int, **consts: object):
    """No register spilled for want of registers: spills with every register the launch allows
    a thread in use (255, or 64K over the threads of a program: 128 at 16 warps). ptxas may
    also spill a few values by choice with registers to spare, to fit more programs on an SM
    (Triton 3.6's did at 64 registers); that is its trade, not the kernel's pressure."""
    used = resources(fn, d, max_d, **consts)
    ceiling = min(255, 65536 // (32 * K._blocks(d, max_d)[2]))
    assert not (used["spills"] and used["registers"] >= ceiling), (
        f"{name} at d = {d} {consts} runs out of registers on sm_90 and spills "
        f"({used}, at most {ceiling} a thread; blocks {K._blocks(d, max_d)})")


WIDTHS = (64, 784, 4096)  # the checkerboard 8 x 8, 28 x 28, a wide head


def test_the_layer_and_the_kernels_agree_on_their_limits():
    assert L._TRITON_MAX_D == K.MAX_TRAIN_BLOCK_D
    assert L._TRITON_MAX_INFER_D == K.MAX_BLOCK_D
    assert L._TRITON_MAX_LINE_ROWS == K.MAX_LINE_ROWS
    assert L._TRITON_MAX_LINE_RAYS == K.MAX_LINE_RAYS
    assert L._TRITON_MAX_LINE_D == K.MAX_LINE_BLOCK_D
    for d in (1, 3, 64, 784, 1025, 4096, K.MAX_TRAIN_BLOCK_D):
        block_d, block_m, warps = K._blocks(d)
        assert block_d >= d and block_m >= 1 and 4 <= warps <= 32
        assert block_m * block_d <= 32 * warps * K.PER_THREAD  # the per-thread budget holds
    with pytest.raises(ValueError, match="wider"):
        K._blocks(K.MAX_TRAIN_BLOCK_D + 1)


SOFTPLUS = K.NONNEG_CODES["softplus"]  # the map with the most registers


def maps(d: int) -> tuple[int, ...]:
    """Every non-negative map at the checkerboard's width, softplus at the others."""
    return tuple(K.NONNEG_CODES.values()) if d == 784 else (SOFTPLUS,)


@pytest.mark.parametrize("d", (*WIDTHS, K.MAX_BLOCK_D))
def test_inference_kernel_compiles_for_sm90_without_spills(d):
    for nonneg in maps(d):
        assert_no_spills("rays_box", K._rays_box_kernel, d, K.MAX_BLOCK_D, K=16,
                         NONNEG=nonneg, BOX=True)


@pytest.mark.parametrize("d", (*WIDTHS, K.MAX_TRAIN_BLOCK_D))
def test_box_kernels_compile_for_sm90_without_spills(d):
    assert_no_spills("box forward", K._box_forward_kernel, d, K.MAX_TRAIN_BLOCK_D)
    assert_no_spills("box backward", K._box_backward_kernel, d, K.MAX_TRAIN_BLOCK_D)


@pytest.mark.parametrize("d", WIDTHS)  # 4096: MAX_LINE_BLOCK_D
def test_line_kernels_compile_for_sm90_without_spills(d):
    # (basis rows, rays): the checkerboard's (16, 16) with and without the box, the largest
    # the kernels take, and no rays
    cases = [((16, 16), SOFTPLUS, False), ((K.MAX_LINE_ROWS, K.MAX_LINE_RAYS), SOFTPLUS, True),
             ((1, 0), SOFTPLUS, True)] + [((16, 16), code, True) for code in maps(d)]
    for (rows, rays), nonneg, box in cases:
        consts = {"R": rows, "NONNEG": nonneg, "BOX": box,
                  "BLOCK_K": max(1, triton.next_power_of_2(rays))}
        assert_no_spills("line map forward", K._line_box_forward_kernel, d,
                         K.MAX_LINE_BLOCK_D, **consts)
        assert_no_spills("line map backward", K._line_box_backward_kernel, d,
                         K.MAX_LINE_BLOCK_D, **consts)
