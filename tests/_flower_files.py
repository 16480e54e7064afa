"""File-making helpers shared by the flower tests (test_imagefiles, test_flowers_data, test_flowers)."""
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from utils import flowers, flowers_data, imagefiles


def jpeg_bytes(seed: int = 0, size=(40, 48), mode: str = "RGB") -> bytes:
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def write_jpeg(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg_bytes(seed))
    return path


def make_class_tree(root: Path, classes, per_class: int, seed0: int = 0) -> Path:
    seed = seed0
    for name in classes:
        for k in range(per_class):
            write_jpeg(root / name / f"{name}_{k:03d}.jpg", seed)
            seed += 1
    return root


def make_tgz(archive: Path, tree: Path, arcname: str) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname=arcname)
    return archive


def tar_with(archive: Path, *members) -> Path:
    """A tar.gz holding the given (TarInfo, bytes or None) members, built by hand."""
    with tarfile.open(archive, "w:gz") as tar:
        for info, payload in members:
            if payload is not None:
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            else:
                tar.addfile(info)
    return archive


def file_member(name: str, payload: bytes = b"evil"):
    return tarfile.TarInfo(name), payload


def link_member(name: str, target: str, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None



@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No test sees the developer's flower folder, hub model or Keras cache (autouse where imported)."""
    monkeypatch.delenv(imagefiles.FLOWERS_ENV, raising=False)
    monkeypatch.delenv(flowers.HUB_ENV, raising=False)
    (tmp_path / "keras_home").mkdir()
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(flowers_data, "_stand_in_folder", lambda seed: tmp_path / f"stand_in_{seed}")
