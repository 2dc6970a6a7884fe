"""``visible_matmul="sparse"``: gather-sum products with {0,1} visible vectors."""

import pytest
import torch

from qdoem.models import QRBM, RBM


def binary(rows, cols, density, seed):
    v = (torch.rand(rows, cols, generator=torch.Generator().manual_seed(seed)) < density).float()
    v[0] = 0.0  # an empty bag
    v[1] = 1.0  # a full one
    return v


@pytest.mark.parametrize("cls", [QRBM, RBM])
def test_sparse_fields_and_gradient_match_dense(cls):
    dense = cls(40, 16, seed=3, weight_scale=0.5)
    sparse = cls(40, 16, seed=3, weight_scale=0.5, visible_matmul="sparse")
    for m in (dense, sparse):
        m.hidden_bias.copy_(torch.linspace(-1, 1, 16))
    vd, vm = binary(30, 40, 0.15, 0), binary(25, 40, 0.5, 1)
    for v in (vd, vm):
        torch.testing.assert_close(
            sparse.field(1, [v, None]), dense.field(1, [v, None]), rtol=1e-5, atol=1e-6
        )
    grads = [m.gradient(m.positive_phase(vd)[0], m.positive_phase(vm)[0]) for m in (dense, sparse)]
    assert set(grads[0]) == set(grads[1])
    for k in grads[0]:
        torch.testing.assert_close(grads[1][k], grads[0][k], rtol=1e-5, atol=1e-6)


def test_sparse_float64_matches_dense_to_float64_rounding():
    kw = dict(seed=1, weight_scale=0.7, dtype=torch.float64)
    dense, sparse = QRBM(12, 5, **kw), QRBM(12, 5, visible_matmul="sparse", **kw)
    v = binary(9, 12, 0.3, 2).double()
    torch.testing.assert_close(
        sparse.field(1, [v, None]), dense.field(1, [v, None]), rtol=1e-12, atol=1e-14
    )
    g_d = dense.gradient(dense.positive_phase(v[:5])[0], dense.positive_phase(v)[0])
    g_s = sparse.gradient(sparse.positive_phase(v[:5])[0], sparse.positive_phase(v)[0])
    torch.testing.assert_close(g_s["weights"], g_d["weights"], rtol=1e-12, atol=1e-14)


def test_sparse_training_tracks_dense_and_is_deterministic():
    data = binary(60, 30, 0.2, 5)
    kw = dict(seed=2, weight_scale=0.1, n_epochs=3, batch_size=10)
    dense = QRBM(30, 8, **kw).fit(data)
    first = QRBM(30, 8, visible_matmul="sparse", **kw).fit(data)
    second = QRBM(30, 8, visible_matmul="sparse", **kw).fit(data)
    for name in ("weights", "visible_bias", "hidden_bias", "hidden_gamma"):
        assert torch.equal(first.parameters()[name], second.parameters()[name]), name
        torch.testing.assert_close(
            first.parameters()[name], dense.parameters()[name], rtol=0, atol=1e-5
        )
    assert first.history_[-1]["recon_error"] == pytest.approx(dense.history_[-1]["recon_error"])


def test_sparse_option_is_saved_and_validated(tmp_path):
    model = RBM(6, 3, visible_matmul="sparse")
    assert model.get_params()["visible_matmul"] == "sparse"
    model.save(tmp_path / "m.pt")
    loaded = RBM.load(tmp_path / "m.pt")
    assert loaded.visible_matmul == "sparse"
    assert QRBM(6, 3).visible_matmul == "dense"
    with pytest.raises(ValueError, match="visible_matmul"):
        QRBM(6, 3, visible_matmul="csr")
    with pytest.raises(ValueError, match="matmul_dtype"):
        QRBM(6, 3, visible_matmul="sparse", matmul_dtype=torch.bfloat16)
