"""``--threads`` and the default thread count: the CPUs the process may use, recorded per run."""

import json

import pytest
import torch

from qdoem.cli import main, usable_cpus


@pytest.fixture
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_usable_cpus_follow_affinity_and_container_quota(tmp_path, monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5, 6, 7})
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("max 100000\n")
    assert usable_cpus(str(cpu_max)) == 8
    cpu_max.write_text("250000 100000\n")  # 2.5 CPUs of quota: 3 threads
    assert usable_cpus(str(cpu_max)) == 3
    cpu_max.write_text("50000 100000\n")  # half a CPU: still one thread
    assert usable_cpus(str(cpu_max)) == 1
    assert usable_cpus(str(tmp_path / "absent")) == 8
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {3})
    assert usable_cpus(str(tmp_path / "absent")) == 1


@pytest.mark.parametrize("threads", [None, 1])
def test_runs_record_the_threads_they_used(tmp_path, restore_threads, threads):
    run = tmp_path / "run"
    extra = [] if threads is None else ["--threads", str(threads)]
    args = ["train", "--run-dir", str(run), "--dataset", "bars_and_stripes", "--n-hidden", "2"]
    assert main([*args, "--epochs", "1", "--no-progress", *extra]) == 0
    (call,) = json.loads((run / "backend.json").read_text())["invocations"]
    expected = threads or min(usable_cpus(), torch.get_num_threads())
    assert call["torch_threads"] == expected == torch.get_num_threads()
    assert len(call["load_average"]) == 3


def test_threads_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--threads", "0"])
    assert "--threads" in capsys.readouterr().err
