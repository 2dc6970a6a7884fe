"""Experiments 1-3 of bench/quality_compare.py (QRBM vs RBM; ``--experiment qidbm-dbm``;
``--experiment qgrbm-grbm``) end to end at a toy scale."""

import importlib.util
import json
import math
from pathlib import Path

import pytest

from qdoem.experiment import load_run_dataset, load_snapshot
from qdoem.training import RunDir

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"


def _bench():
    spec = importlib.util.spec_from_file_location(
        "quality_compare", REPO / "bench" / "quality_compare.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not (DATA / "MNIST" / "raw").is_dir(), reason="MNIST not found")
def test_quality_compare_quick(tmp_path):
    bench = _bench()
    out = tmp_path / "out"
    common = ["--quick", "--data-root", str(DATA), "--runs", str(tmp_path / "runs"), "--out",
              str(out), "--fid", "domain", "--fid-cache", str(tmp_path / "cache"), "--limit",
              "300", "--n-hidden", "16", "--fid-samples", "100", "--curve-samples", "50",
              "--classifier-limit", "500", "--test-limit", "100"]  # fmt: skip
    bench.main([*common, "--variants", "rbm", "qrbm", "--seeds", "0"])
    bench.main([*common, "--variants", "rbm", "qrbm", "--seeds", "1"])  # another process
    report = json.loads((out / "report.json").read_text())
    rows = {(r["variant"], r["seed"]) for r in report["rows"]}
    assert rows == {("rbm", 0), ("qrbm", 0), ("rbm", 1), ("qrbm", 1)}
    for r in report["rows"]:
        assert r["fid"]["extractor"] == "domain-cnn:binarized_mnist" and r["fid"]["value"] > 0
        assert [p["epoch"] for p in r["fid_curve"]] == [1, 2]
        assert r["likelihood"]["lower"] <= r["likelihood"]["upper"] < 0
    change = report["summary"]["relative_fid_change"]["qrbm"]
    by = {(r["variant"], r["seed"]): r["fid"]["value"] for r in report["rows"]}
    expected = [(by["qrbm", s] - by["rbm", s]) / by["rbm", s] for s in (0, 1)]
    assert change["seeds"] == [0, 1] and change["values"] == pytest.approx(expected)
    assert 0 <= report["data_floor"]["fid"]["value"] < min(by.values())
    text = (out / "report.md").read_text()
    assert "domain FID" in text and "784 x 16" in text and "Salakhutdinov & Murray" in text
    for name in ("fid_curves.png", "samples_rbm_s0.png", "samples_qrbm_s1.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    # Rows with these settings are reused, not trained again.
    before = (out / "rows" / "rbm_s0.json").stat().st_mtime_ns
    bench.main([*common, "--variants", "rbm", "--seeds", "0"])
    assert (out / "rows" / "rbm_s0.json").stat().st_mtime_ns == before
    # Another FID chain: recorded with the rows, named in the report, other samples.
    other = tmp_path / "out_path_gibbs"
    bench.main([*common, "--variants", "qrbm", "--seeds", "0", "--fid-sampler", "path-gibbs",
                "--out", str(other)])  # fmt: skip
    row = json.loads((other / "rows" / "qrbm_s0.json").read_text())
    assert (
        row["settings"]["fid_sampler"] == "path-gibbs" and "fid_sampler" not in report["settings"]
    )
    assert row["fid"]["value"] != by["qrbm", 0]
    assert "sweeps of the `path-gibbs` sampler" in (other / "report.md").read_text()
    assert "sweeps of the `exact` sampler" in text


@pytest.mark.skipif(not (DATA / "MNIST" / "raw").is_dir(), reason="MNIST not found")
def test_quality_compare_qidbm_dbm_quick(tmp_path):
    bench = _bench()
    out = tmp_path / "out"
    common = ["--experiment", "qidbm-dbm", "--quick", "--data-root", str(DATA), "--runs",
              str(tmp_path / "runs"), "--out", str(out), "--fid", "domain", "--fid-cache",
              str(tmp_path / "cache"), "--limit", "200", "--n-hidden", "12", "--batch-size",
              "50", "--fid-samples", "60", "--curve-samples", "40", "--classifier-limit",
              "500", "--test-limit", "50"]  # fmt: skip
    bench.main([*common, "--seeds", "0"])
    bench.main([*common, "--seeds", "1"])  # as another process would
    report = json.loads((out / "report.json").read_text())
    assert {(r["variant"], r["seed"]) for r in report["rows"]} == {
        ("dbm", 0), ("qidbm", 0), ("qidbm-h2", 0), ("dbm", 1), ("qidbm", 1), ("qidbm-h2", 1)
    }  # fmt: skip
    for r in report["rows"]:
        assert r["hidden_sizes"] == [12, 12] and r["batch_size"] == 50 and r["n_train"] == 200
        assert r["fid"]["extractor"] == "domain-cnn:binarized_mnist" and r["fid"]["value"] > 0
        assert [p["epoch"] for p in r["fid_curve"]] == [1, 2]
        lk = r["likelihood"]  # the variational lower bound, labelled as one, log Z by AIS
        assert lk["method"] == "bound" and "LOWER BOUND" in lk["kind"] and lk["n"] == 50
        assert lk["log_z_method"] == "ais" and len(lk["log_z_runs"]) == 2
        assert lk["settings"]["n_chains"] == 10 and lk["settings"]["n_betas"] == 100
        assert math.isfinite(lk["lower_bound"]) and lk["lower_bound"] < 0
        assert lk["lower_bound"] == pytest.approx(lk["log_p_star_bound"] - lk["log_z"])
        # a rigorous lower bound of log Z: an AIS log Z far below it is flagged, never trusted
        assert math.isfinite(lk["log_z_floor"])
        if lk["log_z_floor"] > lk["log_z"] + 3 * lk["log_z_stderr"]:
            assert not lk["trustworthy"] and "rigorous lower bound of log Z" in lk["flags"][-1]
        # 784 visible units: log Z cannot be enumerated, but log p*(v) can (h2 or h1 traced
        # out, the other 12 units enumerated): the mean-field part is a bound of it, so the
        # reported number is below the log-likelihood with the same log Z.
        run = tmp_path / "runs" / f"{r['variant']}_s{r['seed']}"
        epoch, path = RunDir(run).snapshot_files()[-1]
        model = load_snapshot(path)[0]
        test = load_run_dataset(json.loads((run / "config.json").read_text()), "test", limit=50)
        log_p_star = float(model.unnormalized_log_prob(test.data).mean())
        assert epoch == 2 and lk["log_p_star_bound"] <= log_p_star + 1e-9
        assert (r["gamma_mean"] is None) == (r["variant"] == "dbm")
    # the reverse check of log Z starts from parallel-tempering states (the bench's default)
    assert {r["likelihood"]["reverse_start"] for r in report["rows"]} == {"tempering"}
    assert {r["likelihood"]["settings"]["pt_steps"] for r in report["rows"]} == {20}
    assert report["summary"]["relative_fid_change"].keys() == {"qidbm", "qidbm-h2"}
    change = report["summary"]["relative_fid_change"]["qidbm"]
    by = {(r["variant"], r["seed"]): r["fid"]["value"] for r in report["rows"]}
    expected = [(by["qidbm", s] - by["dbm", s]) / by["dbm", s] for s in (0, 1)]
    assert change["seeds"] == [0, 1] and change["values"] == pytest.approx(expected)
    assert 0 <= report["data_floor"]["fid"]["value"] < min(by.values())
    text = (out / "report.md").read_text()
    assert "Experiment 2" in text and "784 x 12 x 12" in text and "(FID_q - FID_dbm)" in text
    assert "domain FID" in text and "LOWER BOUND" in text and "RAISE does not apply" in text
    assert "(B_q - B_dbm, nats" in text and "| not measured |" not in text
    diff = report["summary"]["lower_bound_difference"]["qidbm"]
    bound = {(r["variant"], r["seed"]): r["likelihood"]["lower_bound"] for r in report["rows"]}
    expected = [bound["qidbm", s] - bound["dbm", s] for s in (0, 1)]
    assert diff["seeds"] == [0, 1] and diff["values"] == pytest.approx(expected)
    for name in ("fid_curves.png", "samples_dbm_s0.png", "samples_qidbm_s1.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.skipif(not (DATA / "FashionMNIST" / "raw").is_dir(), reason="Fashion-MNIST not found")
def test_quality_compare_qgrbm_grbm_quick(tmp_path):
    bench = _bench()
    out, runs = tmp_path / "out", tmp_path / "runs"
    common = ["--experiment", "qgrbm-grbm", "--quick", "--data-root", str(DATA), "--runs",
              str(runs), "--out", str(out), "--fid", "domain", "--fid-cache",
              str(tmp_path / "cache"), "--limit", "200", "--n-hidden", "8", "--batch-size", "50",
              "--cd-k", "5", "--fid-samples", "60", "--fid-steps", "5", "--curve-samples", "40",
              "--classifier-limit", "500", "--test-limit", "50", "--n-chains", "5", "--n-betas",
              "20", "--raise-points", "3", "--seeds", "0", "1"]  # fmt: skip
    bench.main(common)
    report = json.loads((out / "report.json").read_text())
    assert {(r["variant"], r["seed"]) for r in report["rows"]} == {
        ("grbm", 0), ("qgrbm", 0), ("grbm", 1), ("qgrbm", 1)
    }  # fmt: skip
    for r in report["rows"]:
        assert (r["n_hidden"], r["batch_size"], r["cd_k"], r["n_train"]) == (8, 50, 5, 200)
        assert r["fid"]["extractor"] == "domain-cnn:fashion_mnist" and r["fid"]["value"] > 0
        assert [p["epoch"] for p in r["fid_curve"]] == [1, 2]
        lk = r["likelihood"]
        assert lk["method"] == "ais" and lk["lower"] <= lk["upper"] and lk["n"] == 50
        assert (r["gamma_mean"] is None) == (r["variant"] == "grbm")
    # The same recipe for both models: their resolved configs differ in the model name only.
    for seed in (0, 1):
        grbm, qgrbm = (json.loads((runs / f"{m}_s{seed}" / "config.json").read_text())
                       for m in ("grbm", "qgrbm"))  # fmt: skip
        differ = {k for k in grbm.keys() | qgrbm.keys() if grbm.get(k) != qgrbm.get(k)}
        assert differ == {"model", "run_dir"}
        assert grbm["dataset_options"] == {"standardize": "channel"}
        assert (grbm["chain_init"], grbm["lr_schedule"], grbm["clip_norm"]) == (
            "noise",
            "cosine-annealing",
            10,
        )
    change = report["summary"]["relative_fid_change"]["qgrbm"]
    by = {(r["variant"], r["seed"]): r["fid"]["value"] for r in report["rows"]}
    expected = [(by["qgrbm", s] - by["grbm", s]) / by["grbm", s] for s in (0, 1)]
    assert change["seeds"] == [0, 1] and change["values"] == pytest.approx(expected)
    assert 0 <= report["data_floor"]["fid"]["value"] < min(by.values())
    assert "standardised pixels" in report["likelihood_unit"]
    text = (out / "report.md").read_text()
    assert "Experiment 3" in text and "784 x 8" in text and "(FID_q - FID_grbm)" in text
    assert "domain FID" in text and "Fashion-MNIST" in text and "standardised pixels" in text
    for name in ("fid_curves.png", "samples_grbm_s0.png", "samples_qgrbm_s1.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"


def test_quality_compare_flags_belong_to_their_experiment():
    bench = _bench()
    with pytest.raises(SystemExit):
        bench.parse_args(["--experiment", "qidbm-dbm", "--variants", "rbm"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--experiment", "qidbm-dbm", "--recipe", "pcd"])
    with pytest.raises(SystemExit):  # RAISE does not apply to the DBM bound
        bench.parse_args(["--experiment", "qidbm-dbm", "--raise-points", "10"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--batch-size", "100"])
    args = bench.parse_args(["--experiment", "qidbm-dbm"])
    assert args.variants == ["dbm", "qidbm", "qidbm-h2"] and args.n_hidden == 784
    with pytest.raises(SystemExit):  # the recipe overrides are experiment 2's
        bench.parse_args(["--learning-rate", "0.05"])
    config = bench.row_config(
        bench.parse_args(["--experiment", "qidbm-dbm", "--learning-rate", "0.05", "--momentum",
                          "0.9", "--n-hidden", "8"]), "qidbm-h2", 0,
    )  # fmt: skip
    assert config["quantum_layers"] == [2] and config["learning_rate"] == 0.05
    assert config["momentum"] == 0.9 and config["scheme"] == "unbiased"
    assert args.out == Path("results/qidbm_vs_dbm_mnist")
    with pytest.raises(SystemExit):
        bench.parse_args(["--cd-k", "10"])  # qrbm-rbm: the recipe's
    with pytest.raises(SystemExit):  # FIDs come from exact chains only
        bench.parse_args(["--fid-sampler", "plain"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--experiment", "qgrbm-grbm", "--variants", "qidbm"])
    args = bench.parse_args(["--experiment", "qgrbm-grbm", "--cd-k", "10"])
    assert args.variants == ["grbm", "qgrbm"] and args.n_hidden == 1024 and args.cd_k == 10
    assert args.out == Path("results/qgrbm_vs_grbm_fashion")


def test_quality_compare_qidbm_dbm_report_only_renders_rows_without_the_bound(tmp_path):
    """The committed experiment-2 rows predate the bound: --report-only still renders them, with
    the likelihood "not measured", the FIDs and the data floor as they were."""
    import shutil

    bench = _bench()
    committed = REPO / "results" / "qidbm_vs_dbm_mnist"
    out = tmp_path / "out"
    shutil.copytree(committed / "rows", out / "rows")
    shutil.copy(committed / "floor.json", out / "floor.json")
    bench.main(["--experiment", "qidbm-dbm", "--n-hidden", "200", "--batch-size", "100",
                "--limit", "10000", "--epochs", "50", "--snapshot-every", "10", "--fid", "domain",
                "--fid-samples", "2000", "--fid-steps", "200", "--curve-samples", "500", "--seeds",
                "0", "1", "--report-only", "--out", str(out)])  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    assert len(report["rows"]) == 4 and all(r["likelihood"] is None for r in report["rows"])
    assert "n_chains" not in report["settings"]  # no AIS settings claimed for rows without AIS
    assert report["summary"]["lower_bound_difference"]["qidbm"]["values"] == []
    assert (out / "floor.json").read_text() == (committed / "floor.json").read_text()
    text = (out / "report.md").read_text()
    assert "not measured for 4 row(s)" in text and "| 736.06 | not measured |" in text
    assert "qidbm: not measured" in text and "mean -1.1%" in text


def test_quality_compare_does_not_reuse_rows_from_another_log_z_base():
    """Experiment-2 rows whose bound came from the data base alone (before ``base="both"``)
    are recomputed, not reported beside rows from the current default; rows without the bound
    still match on the rest."""
    import argparse

    bench = _bench()
    args = argparse.Namespace(
        experiment="qidbm-dbm", epochs=3, n_hidden=100, batch_size=100, gamma_init=0.5,
        limit=5000, snapshot_every=1, fid="domain", fid_samples=2000, fid_steps=200,
        curve_samples=500, classifier_limit=None, test_limit=None, n_chains=100, n_betas=1000,
    )  # fmt: skip
    now = bench.settings(args)
    assert now["log_z_base"] == "both" and bench.matches(dict(now), args)
    old = {k: v for k, v in now.items() if k != "log_z_base"}  # a row of the data-base era
    assert not bench.matches(old, args)
    no_bound = {k: v for k, v in now.items() if k not in bench.DBM_BOUND_KEYS}
    assert bench.matches(no_bound, args)


@pytest.mark.parametrize("model_name", ["DBM", "QiDBM"])
def test_log_z_floor_is_a_lower_bound_of_the_exact_log_z(model_name):
    """The check on AIS: log Z >= log <x_U| Tr_S exp(-H) |x_U> for every candidate."""
    import torch

    from qdoem import models
    from qdoem.metrics.dbm_likelihood import log_z_floor, variational_bound

    torch.manual_seed(0)
    model = getattr(models, model_name)(10, [4, 4], seed=0)
    with torch.no_grad():  # strong couplings: a peaked model, the floor close to log Z
        for name, value in model.parameters().items():
            if name.startswith("weights"):
                value.copy_(3 * torch.randn_like(value))
    data = (torch.rand(30, 10) < 0.3).double()
    floor = log_z_floor(model, variational_bound(model, data).means)
    exact = model.exact_log_partition()
    assert math.isfinite(floor) and floor <= exact + 1e-9
    if model_name == "DBM":  # AIS anneals h1 only: the candidates come close to the mode
        assert floor > exact - 5
