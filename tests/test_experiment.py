"""Config files and settings: unknown keys, wrong types and bad values are refused by name."""

import pytest

from qdoem.errors import ConfigError
from qdoem.experiment import resolve_config


def toml(tmp_path, text):
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text,match",
    [
        ('persistent = "no"\n', r"persistent in .* must be true or false, got 'no' \(str\)"),
        ("learn_gamma = 0\n", r"learn_gamma in .* must be true or false, got 0 \(int\)"),
        ("epochs = 2.0\n", r"epochs in .* must be an integer, got 2.0 \(float\)"),
        ('learning_rate = "0.1"\n', r"learning_rate in .* must be a finite number, got '0.1'"),
        ("learning_rate = nan\n", r"learning_rate in .* must be a finite number, got nan"),
        ('hidden_sizes = [8, "8"]\n', r"hidden_sizes in .* must be a list of integers"),
        ("n_hidden = true\n", r"n_hidden in .* must be an integer, got True"),
        ("model = 3\n", r"model in .* must be a str, got 3"),
        ("learning_rat = 0.1\n", r"'learning_rat' \(did you mean 'learning_rate'\?\)"),
        ("lr = 0.1\n", r"'lr' \(did you mean 'learning_rate'\?\)"),
        ("[quick]\nepoch = 1\n", r"'quick.epoch' \(did you mean 'quick.epochs'\?\)"),
    ],
)
def test_config_file_errors_name_the_key_and_value(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        resolve_config(toml(tmp_path, text), {"run_dir": str(tmp_path / "r")})


def test_ints_are_taken_for_floats(tmp_path):
    cfg = resolve_config(toml(tmp_path, "learning_rate = 1\n"), {"run_dir": str(tmp_path)})
    assert cfg["learning_rate"] == 1.0 and isinstance(cfg["learning_rate"], float)


@pytest.mark.parametrize(
    "overrides,match",
    [
        ({"learning_rate": -0.1}, r"learning_rate must be > 0, got -0.1"),
        ({"learning_rate": 0}, r"learning_rate must be > 0, got 0"),
        ({"n_hidden": -3}, r"n_hidden must be >= 1, got -3"),
        ({"n_hidden": 0}, r"n_hidden must be >= 1, got 0"),
        ({"batch_size": 0}, r"batch_size must be a positive int, got 0"),
        ({"hidden_sizes": [4, 0]}, r"hidden_sizes must be a non-empty list of ints >= 1"),
        ({"shots": 0}, r"shots must be a positive integer or None, got 0"),
        ({"shots": -5}, r"shots must be a positive integer or None, got -5"),
        ({"weight_scale": -1.0}, r"weight_scale must be >= 0, got -1.0"),
        ({"limit": 0}, r"limit must be >= 1, got 0"),
        ({"device": "gpu"}, r"device must be a torch device .* got 'gpu'"),
        ({"device": "meta"}, r"device must be cpu, cuda\[:N\] or mps, got 'meta'"),
        ({"backend": "nope"}, r"backend 'nope': unknown backend 'nope'"),
        ({"backend": "aer", "model": "rbm"}, r"backend applies to quantum models"),
        ({"model": "vae"}, r"model must be one of .* got 'vae'"),
        ({"recipe": "fast"}, r"recipe must be one of .* got 'fast'"),
        ({"colour": 1}, r"unknown key: 'colour'"),
        (
            {"model": "qidbm", "hidden_sizes": [4, 4], "quantum_layers": [1, 2]},
            r"quantum_layers \[1, 2\] has neighbours h1 and h2",
        ),
        ({"model": "qidbm", "hidden_sizes": [4], "quantum_layers": [2]}, r"in 1\.\.1"),
    ],
)
def test_bad_values_are_refused_by_name(tmp_path, overrides, match):
    with pytest.raises(ConfigError, match=match):
        resolve_config(None, {"run_dir": str(tmp_path / "r"), **overrides})


def test_cuda_device_without_cuda_is_refused(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ConfigError, match="'cuda:0' requested but CUDA is not available"):
        resolve_config(None, {"run_dir": str(tmp_path), "device": "cuda:0"})


def test_a_run_directory_that_is_a_file_is_refused(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    for run_dir in (afile, afile / "sub"):
        with pytest.raises(ConfigError, match=f"{afile} is a file, not a directory"):
            resolve_config(None, {"run_dir": str(run_dir)})


def test_run_limit_chooses_training_rows_only(tmp_path):
    """A run's ``limit`` picks its training rows; its other splits are evaluated in full."""
    from qdoem.experiment import load_run_dataset

    config = resolve_config(
        None,
        {
            "run_dir": str(tmp_path / "r"),
            "dataset": "bernoulli_mixture",
            "limit": 10,
        },
    )
    assert load_run_dataset(config).data.shape[0] == 10
    assert load_run_dataset(config, split="test").data.shape[0] == 1000
    assert load_run_dataset(config, split="test", limit=5).data.shape[0] == 5
    assert load_run_dataset(config, limit=None).data.shape[0] == 1000
