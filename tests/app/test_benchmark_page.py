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



def test_benchmark_table_leads_with_the_largest_batch_and_explains_its_columns():
    import json

    at = open_page("benchmark", A="1,-2;-3,1")
    at.multiselect(key="bench_batches").set_value([1, 16]).run()
    at.button(key="bench_go").click().run()
    table = at.dataframe[0].value
    assert table["batch"].iloc[0] == 16 and table["method"].iloc[0] == "ConeLayer"
    assert {"× plain head", "OSQP ÷ this", "exact ÷ this", "worst violation",
            "converged"} <= set(table.columns)
    assert set(table["converged"]) == {"yes"}  # every projection of this wedge converged
    assert table.loc[table["method"] == "ConeLayer", "exact ÷ this"].min() > 0
    assert all(float(v) >= 0 for v in table["worst violation"])  # one sign: 0 is inside
    assert any("OSQP ÷ this" in c.value and "worst violation" in c.value for c in at.caption)
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert fig["layout"]["xaxis"]["tickvals"] == [1, 16]  # labels are the batches, not "8 9 1"
