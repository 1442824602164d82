"""Checkpoint files on their own: atomic, the last K kept, temps of a killed run removed, clear errors."""
import pytest
import torch

from corpusmill.trainer import checkpoint as ckpt


def test_save_keeps_the_last_k_and_latest_finds_the_newest(tmp_path):
    for step in (0, 5, 10, 15):
        ckpt.save(tmp_path, step, {"step": step, "w": torch.full((2,), float(step))}, keep_last=2)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["step-00000010.pt", "step-00000015.pt"]
    assert ckpt.load(ckpt.latest(tmp_path))["step"] == 15
    assert ckpt.resolve(tmp_path) == tmp_path / "step-00000015.pt"
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_temps_of_a_killed_save_are_never_picked_up_and_are_removed(tmp_path):
    ckpt.save(tmp_path, 1, {"step": 1}, keep_last=3)
    (tmp_path / ".step-00000002.pt.tmp-deadbeef").write_bytes(b"half a checkpoint")
    assert ckpt.latest(tmp_path).name == "step-00000001.pt"
    assert ckpt.remove_stale_temps(tmp_path) == 1 and len(list(tmp_path.iterdir())) == 1


def test_a_file_that_is_not_a_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "x.pt").write_text("not torch")
    with pytest.raises(ckpt.CheckpointError, match="not a corpusmill checkpoint"):
        ckpt.load(tmp_path / "x.pt")
    with pytest.raises(FileNotFoundError, match="no checkpoint under"):
        ckpt.resolve(tmp_path / "empty")
