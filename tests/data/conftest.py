"""Fixtures for the image datasets: a small CelebA-like folder of random images."""

import pytest

from tests.data.images import write_images


@pytest.fixture
def celeba_root(tmp_path):
    """A root with 12 images in ``celeba/img_align_celeba`` (no list_*.txt files)."""
    write_images(tmp_path / "celeba" / "img_align_celeba")
    return tmp_path
