"""bench/q1_speed/ablation.py (issue 14) on a tiny size: table structure, targets, invariants."""

import json

import pytest

from bench.q1_speed import ablation


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("ablation")
    args = ["--sizes", "4", "--data-seeds", "0", "1", "--repeats", "2", "--ref-maxiter", "300"]
    args += ["--max-evals", "4000", "--lr-sweep", "1", "--lr-size", "4", "--lr-max-evals", "500"]
    args += ["--doem-visible", "5", "--doem-hidden", "2", "--doem-esteps", "2", "--out", str(out)]
    args += ["--run-seconds", "120"]  # the evaluation caps, not time, end these runs
    assert ablation.main(args) == 0
    return json.loads((out / "ablation.json").read_text()), (out / "report.md").read_text(), out


def test_every_method_ran_every_seed_and_reached_the_loosest_target(result):
    data = result[0]
    (size,) = data["sizes"]
    assert set(size["runs"]) == set(ablation.method_table([3, 10]))
    for name, runs in size["runs"].items():
        assert [(r["data_seed"], r["repeat"]) for r in runs] == [(0, 0), (0, 1), (1, 0), (1, 1)]
        for r in runs:
            assert r["hits"]["0.5"] is not None, (name, r)
            assert r["final_kl"] < r["kl0"], name


def test_targets_sit_between_start_and_best(result):
    data = result[0]
    size = data["sizes"][0]
    for seed in size["seeds"]:
        assert seed["kl_star"] == min(seed["ref_kls"])
        assert seed["kl_star"] >= -1e-12
    for runs in size["runs"].values():
        for r in runs:
            assert r["kl0"] > 0


def test_dense_and_closed_form_gradient_ascent_take_the_same_steps(result):
    """The three gradients are equal on this family: only the cost per evaluation differs."""
    runs = result[0]["sizes"][0]["runs"]
    for a, b, c in zip(
        runs["Full QBM, GA"], runs["Amin bound, GA"], runs["closed form, GA"], strict=True
    ):
        for f in ("0.5", "0.1"):
            assert a["hits"][f]["evals"] == b["hits"][f]["evals"] == c["hits"][f]["evals"]


def test_doem_counts_m_step_evaluations_and_e_steps(result):
    runs = result[0]["sizes"][0]["runs"]
    for r in runs["DO-EM L-BFGS M-step (3 it)"]:
        hit = r["hits"]["0.5"]
        # each E-step's M-step evaluates Q at least once and at most a few times per iteration
        assert hit["esteps"] <= hit["evals"] <= 10 * 3 * hit["esteps"]
    for r in runs["DO-EM 1-step"]:
        assert r["hits"]["0.5"]["esteps"] == r["hits"]["0.5"]["evals"]


def test_doem_one_step_takes_the_steps_of_closed_form_gradient_ascent(result):
    """Same iterates (grad Q = grad L at theta_old): the same KL after the same evaluations."""
    runs = result[0]["sizes"][0]["runs"]
    for ga, em in zip(runs["closed form, GA"], runs["DO-EM 1-step"], strict=True):
        assert em["final_kl"] == ga["final_kl"] and em["evals"] == ga["evals"]
        for f, hit in ga["hits"].items():
            assert (em["hits"][f] or {}).get("evals") == (hit or {}).get("evals")


def test_report_has_one_row_per_method_and_the_sweep_and_large_runs(result):
    data, report, out = result
    assert "| method | s/eval (median) | evals to 50% |" in report
    for name in ablation.method_table([3, 10]):
        assert f"| {name} |" in report
    assert "### Step-size sweep" in report and "### DO-EM alone, 5 visible + 2 hidden" in report
    # one DO-EM run per data seed, each with its own data and initialisation
    assert [r["data_seed"] for r in data["large"]] == [0, 1]
    for large in data["large"]:
        kls = [r["kl_mixture"] for r in large["esteps"]]
        assert len(kls) == 3 and kls[-1] < kls[0]
    assert data["large"][0]["esteps"][0]["kl_data"] != data["large"][1]["esteps"][0]["kl_data"]
    assert "Median [min, max] over the runs" in report
    assert f"Wall time of the whole command: {data['wall_seconds']:.0f} s." in report
    assert "python -m bench.q1_speed.ablation --sizes 4" in report
    assert "| Full QBM, GA / closed form, GA |" in report  # cost per evaluation
    assert "| DO-EM L-BFGS M-step (10 it) |" in report.split("E-steps to each target")[1]
    assert ablation.report_from_json(out / "ablation.json") == report
