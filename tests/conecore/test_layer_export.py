"""The ConeLayer leaves eager PyTorch: torch.export, ONNX (the optional ``onnx`` extra) and
torch.compile(fullgraph=True), each compared with eager."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
import torch

import conecore as cc

CASES = {
    "checkerboard-8, box": (cc.preset("checkerboard-8"), 1.0),  # projection mode
    "wedge-line": (cc.preset("wedge-line"), None),  # basis mode
    "pyramid, box": (cc.preset("pyramid"), 2.0),  # pointed
}


def layer_of(case: str) -> cc.ConeLayer:
    A, box = CASES[case]
    torch.manual_seed(0)
    return cc.ConeLayer(cc.Cone.from_inequalities(A), 6, box=box)


def in_cone(layer: cc.ConeLayer, z: torch.Tensor) -> bool:
    return bool(cc.relative_violation(layer.A.double(), z.detach().double()).max() <= 1e-5)


@pytest.mark.parametrize("grad", [True, False], ids=["train", "inference"])
@pytest.mark.parametrize("case", list(CASES))
def test_torch_export_matches_eager(case, grad):
    """Used to fail: the inference cache's key reads data pointers, which fake tensors lack."""
    layer = layer_of(case)
    x = torch.randn(5, 6)
    with torch.set_grad_enabled(grad):
        program = torch.export.export(layer, (x,),
                                      dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    for batch in (x, torch.randn(300, 6) * 10):  # the batch is dynamic
        out = program.module()(batch)
        assert torch.allclose(out, layer(batch), atol=1e-5) and in_cone(layer, out)


@pytest.mark.parametrize("grad", [True, False], ids=["train", "inference"])
@pytest.mark.parametrize("case", list(CASES))
def test_jit_trace_records_every_operation(case, grad):
    """``torch.jit.trace`` records torch operations only: a compiled C kernel inside the
    trace would be left out of the graph silently (the traced layer then skipped the rays and
    the box: outputs outside the cone). Traced code takes the torch operations."""
    layer = layer_of(case)
    x = torch.randn(40, 6) * 5
    with torch.set_grad_enabled(grad), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.trace is deprecated; its tracer warnings
        traced = torch.jit.trace(layer, (x,), check_trace=False)
    fresh = torch.randn(40, 6) * 5
    out = traced(fresh)
    assert torch.allclose(out, layer(fresh), atol=1e-5) and in_cone(layer, out)


@pytest.mark.parametrize("grad", [True, False], ids=["train", "inference"])
def test_jit_trace_at_a_small_batch_reads_no_size_it_would_warn_about(grad):
    """Under ``torch.jit.trace`` sizes are tensors: choosing the line map's form by the batch
    read their values, and the tracer warned that the trace might be wrong (a warning more
    per trace). It folds there, right for every batch; what is left is the input-width check's
    one warning."""
    torch.manual_seed(0)
    layer = cc.ConeLayer(cc.Cone.from_inequalities(cc.preset("checkerboard-8")), 64, box=1.0)
    with torch.set_grad_enabled(grad), warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        traced = torch.jit.trace(layer, (torch.randn(2, 64),), check_trace=False)
    ours = [w for w in seen if w.category is torch.jit.TracerWarning
            and w.filename.endswith("layer.py")]
    assert len(ours) == 1, [str(w.message) for w in ours]
    x = torch.randn(300, 64) * 5
    out = traced(x)
    assert torch.allclose(out, layer(x), atol=1e-5 * 5) and in_cone(layer, out)


@pytest.mark.skipif(importlib.util.find_spec("onnx") is None
                    or importlib.util.find_spec("onnxscript") is None,
                    reason="ONNX export needs the optional extra: pip install 'conecore[onnx]' "
                           "(onnx and onnxscript)")
@pytest.mark.parametrize("case", list(CASES))
def test_onnx_export_matches_eager(case):
    """torch.onnx.export (the torch.export-based exporter), run by onnx's reference evaluator."""
    from onnx.reference import ReferenceEvaluator

    layer = layer_of(case).eval()
    x = torch.randn(5, 6)
    program = torch.onnx.export(layer, (x,), dynamo=True,
                                dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    model = program.model_proto
    run = ReferenceEvaluator(model)
    for batch in (x, torch.randn(40, 6) * 10):
        out = run.run(None, {model.graph.input[0].name: batch.numpy()})[0]
        with torch.no_grad():
            expected = layer(batch).numpy()
        assert np.abs(out - expected).max() <= 1e-5 * max(1.0, np.abs(expected).max())
        assert in_cone(layer, torch.as_tensor(out))


@pytest.mark.parametrize("case", list(CASES))
def test_torch_compile_fullgraph_forward_and_backward(case):
    torch._dynamo.reset()
    layer = layer_of(case)
    compiled = torch.compile(layer, fullgraph=True)
    x = torch.randn(16, 6, requires_grad=True)
    out = compiled(x)
    assert torch.allclose(out, layer(x), atol=1e-5) and in_cone(layer, out)
    grads = torch.autograd.grad(out.square().sum(), [x, *layer.parameters()])
    eager = torch.autograd.grad(layer(x).square().sum(), [x, *layer.parameters()])
    for a, b in zip(grads, eager, strict=True):
        assert torch.allclose(a, b, atol=1e-4)
    with torch.no_grad():
        assert torch.allclose(compiled(x), layer(x), atol=1e-5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert in_cone(layer, compiled(x))


def test_compiled_inference_with_freezing():
    """Inductor's freezing (weights as constants in inference graphs, so the fold ``P W`` is
    computed once at compile time): the eager outputs, in the cone and the box. (Through
    Inductor's own ``config.patch``: pytest's monkeypatch left the option hidden afterwards, so
    a later static ``torch.export`` failed with "torch._inductor.config.freezing does not
    exist".)"""
    import torch._inductor.config as inductor_config

    torch._dynamo.reset()
    layer = layer_of("checkerboard-8, box").eval()
    x = torch.randn(40, 6) * 10
    with inductor_config.patch(freezing=True), torch.no_grad():
        compiled = torch.compile(layer, fullgraph=True)
        out = compiled(x)
        assert torch.allclose(out, layer(x), atol=1e-5) and in_cone(layer, out)
        assert out.abs().max() <= 1.0 + 1e-6
    torch._dynamo.reset()


PRODUCTS = ("linear", "addmm", "mm", "matmul", "addmv", "mv", "bmm")


@pytest.mark.parametrize("facets", [8, 80])
def test_traced_inference_is_one_product_then_the_rays_term_by_term(facets):
    """Inference in traced code (export, compile): the line part and the ray coefficients are
    one product of the input, and the rays are added term by term, for the compiler to fuse
    them with the map and the box into one pass (no product reads the rays); past
    ``_TRACED_RAY_TERMS`` rays they are a product again. Outputs: eager's, in the cone."""
    from conecore.layer import _TRACED_RAY_TERMS

    A = np.hstack([cc.preset("ice-cream", k=facets), np.zeros((facets, 1))])  # x a line
    torch.manual_seed(0)
    layer = cc.ConeLayer(cc.Cone.from_inequalities(A), 6, box=1.0).eval()
    assert layer.num_rays == facets and layer.num_lines == 1
    x = torch.randn(5, 6)
    with torch.no_grad():
        program = torch.export.export(layer, (x,),
                                      dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    graph = program.graph_module.graph
    inputs = {n.name: n for n in graph.nodes if n.op == "placeholder"}
    x_node = next(n for name, n in inputs.items() if name == "x")
    rays = next(n for name, n in inputs.items() if name.endswith("rays"))
    products = [n for n in graph.nodes if n.op == "call_function"
                and str(n.target).split(".")[1] in PRODUCTS]
    of_x = [n for n in products if x_node in n.all_input_nodes]
    of_rays = [n for n in products if rays in n.all_input_nodes]
    assert len(of_x) == 1
    assert (not of_rays) if facets <= _TRACED_RAY_TERMS else of_rays
    fresh = torch.randn(300, 6) * 10
    with torch.no_grad():
        out = program.module()(fresh)
        assert torch.allclose(out, layer(fresh), atol=1e-5) and in_cone(layer, out)


def _products_of_x(program) -> int:
    graph = program.graph_module.graph
    x = next(n for n in graph.nodes if n.op == "placeholder" and n.name == "x")
    return sum(n.op == "call_function" and str(n.target).split(".")[1] in PRODUCTS
               and x in n.all_input_nodes for n in graph.nodes)


@pytest.mark.parametrize("case", ["checkerboard-8, box", "wedge-line"])
def test_traced_inference_at_small_batches_maps_the_outputs(case):
    """A batch smaller than the inputs: in traced inference the line map goes on the outputs
    (``P y``), not into the weights (the fold ``P W``, ``2 r h d`` multiply-adds at every
    call, was most of a compiled call at batch 2), so the input goes through two products (the
    line part, the ray coefficients) instead of one of ``[P W; W_u]``. A dynamic batch takes
    the outputs' form only where its whole range is small (``Dim("b", max=32)``), with no
    guard on its size: a guard narrowed the range and ``mark_dynamic`` with a range spanning
    the threshold raised ``ConstraintViolationError`` (seen while writing this). Inductor's
    freezing keeps the fold (a constant there). Outputs: eager's, in the cone, in the box."""
    A, box = CASES[case]
    torch.manual_seed(0)
    layer = cc.ConeLayer(cc.Cone.from_inequalities(A), 64, box=box).eval()
    assert layer._traced_lines_on_outputs(2) and not layer._traced_lines_on_outputs(10_000)
    import torch._inductor.config as inductor_config

    with inductor_config.patch(freezing=True):  # the fold is then computed once: kept
        assert not layer._traced_lines_on_outputs(2)
    small, large = torch.randn(2, 64) * 10, torch.randn(3000, 64) * 10
    with torch.no_grad():
        fixed = torch.export.export(layer, (small,))
        dynamic = torch.export.export(layer, (small,),
                                      dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
        bounded = torch.export.export(
            layer, (small,), dynamic_shapes={"x": {0: torch.export.Dim("b", min=2, max=32)}})
    assert _products_of_x(fixed) == 2 and _products_of_x(dynamic) == 1
    assert _products_of_x(bounded) == 2
    torch._dynamo.reset()
    compiled = torch.compile(layer, fullgraph=True, dynamic=True)
    marked = torch.compile(layer, fullgraph=True)
    spanning = small.clone()
    torch._dynamo.mark_dynamic(spanning, 0, min=2, max=100_000)
    with torch.no_grad():
        assert torch.allclose(marked(spanning), layer(small), atol=1e-5 * 10)
        assert torch.allclose(bounded.module()(small[:1].repeat(7, 1)),
                              layer(small[:1].repeat(7, 1)), atol=1e-5 * 10)
        for x in (small, large, small):
            outs = [compiled(x), dynamic.module()(x)] + ([fixed.module()(x)] if x is small else [])
            for out in outs:
                assert torch.allclose(out, layer(x), atol=1e-5 * max(1.0, float(out.abs().max())))
                assert in_cone(layer, out)
                if box is not None:
                    assert out.abs().max() <= box * (1 + 1e-6)
    torch._dynamo.reset()


def _folds(program) -> bool:
    """Whether a product reads the line map's weight and the basis (``P W``), not the input."""
    graph = program.graph_module.graph
    nodes = {n.name: n for n in graph.nodes if n.op == "placeholder"}
    weight, x = nodes["p_line_coef_weight"], nodes["x"]
    basis = next(n for name, n in nodes.items() if name.endswith("line_basis"))

    def reaches(node, target) -> bool:
        return node is target or any(reaches(i, target) for i in node.all_input_nodes)

    return any(n.op == "call_function" and str(n.target).split(".")[1] in PRODUCTS
               and reaches(n, weight) and reaches(n, basis) and not reaches(n, x)
               for n in graph.nodes)


@pytest.mark.parametrize("case", ["checkerboard-8, box", "wedge-line"])
def test_compiled_training_at_small_batches_maps_the_outputs(case):
    """Training in compiled code chooses as eager training does (``_fold_is_cheaper``): at a
    batch smaller than the inputs the line map goes on the outputs, not into the weights (the
    fold and its backward ``P gW`` cost ``4 r h d`` a step whatever the batch). A dynamic
    batch in ``torch.export`` keeps the fold. Outputs and gradients: eager's, in the cone."""
    A, box = CASES[case]
    torch.manual_seed(0)
    layer = cc.ConeLayer(cc.Cone.from_inequalities(A), 64, box=box)
    x = torch.randn(2, 64) * 10
    fixed = torch.export.export(layer, (x,))
    dynamic = torch.export.export(layer, (x,), dynamic_shapes={"x": {0: torch.export.Dim("b")}})
    assert not _folds(fixed) and _folds(dynamic)
    torch._dynamo.reset()
    compiled = torch.compile(layer, fullgraph=True)
    xg = x.clone().requires_grad_()
    out = compiled(xg)
    assert torch.allclose(out, layer(x), atol=1e-5 * float(out.abs().max())) and in_cone(layer, out)
    grads = torch.autograd.grad(out.square().sum(), [xg, *layer.parameters()])
    eager = torch.autograd.grad(layer(xg).square().sum(), [xg, *layer.parameters()])
    for a, b in zip(grads, eager, strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-4 * float(b.abs().max()))
    torch._dynamo.reset()


def test_eager_inference_never_takes_the_traced_form(monkeypatch):
    """The term-by-term form is for compilers: run eagerly it would be an operation per ray
    (a kernel launch each on a GPU). Eager inference without the C kernels (no compiler: the
    folded form, or oneDNN's product from batch 32) keeps the products."""
    from conecore import _native_box

    layer = layer_of("checkerboard-8, box")
    monkeypatch.setattr(_native_box, "available", lambda: False)
    monkeypatch.setattr(cc.ConeLayer, "_forward_traced",
                        lambda *args: pytest.fail("the traced form in eager code"))
    with torch.no_grad():
        for n in (5, 64):
            assert in_cone(layer, layer(torch.randn(n, 6) * 10))
