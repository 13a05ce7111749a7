"""The Benchmark page (AppTest)."""

from tests.app.pages import open_page


def test_benchmark_page_runs_for_the_current_cone():
    at = open_page("benchmark", A="1,-2;-3,1")
    at.multiselect(key="bench_batches").set_value([1, 4]).run()
    at.button(key="bench_go").click().run()
    assert not at.exception
    rows = at.session_state["bench_rows"]
    assert {r.batch for r in rows} == {1, 4}
    assert all(r.max_violation < 1e-5 for r in rows if r.method == "ConeLayer")
    # The command that gives the same numbers from the CLI.
    assert any("--suite layer" in c.value and "--batch 1,4 --repeat 3 --max-solver-samples 16"
               in c.value for c in at.code)

