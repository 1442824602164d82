"""trainer/parallel.py on its own, in one process (a gloo group of one rank): the one-file state
format is the same under FSDP2 and without it, in both directions, and gradient sync is skipped
exactly on the micro batches that are not the last."""
import copy

import torch
import torch.distributed as dist

from corpusmill.trainer import parallel
from corpusmill.trainer.model import GPT, build_config

VOCAB = 97


def _model_and_opt(seed: int) -> tuple[GPT, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    m = GPT(build_config(VOCAB, 16, None, n_layer=2, n_head=2, d_model=32))
    return m, torch.optim.AdamW(m.parameters(), lr=1e-2)


def _step(m: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randint(0, VOCAB, (2, 16), generator=g)
    _, loss = m(x, torch.roll(x, -1, 1))
    loss.backward()
    opt.step()
    opt.zero_grad()


def test_sharded_only_for_fsdp_over_several_ranks():
    assert parallel.sharded("fsdp", 2) and not parallel.sharded("fsdp", 1) and not parallel.sharded("ddp", 4)


def test_full_state_is_the_same_file_under_fsdp_and_without(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        plain, plain_opt = _model_and_opt(0)
        _step(plain, plain_opt)
        ref_model, ref_opt = parallel.full_state(plain, plain_opt, fsdp=False)

        sharded, sharded_opt = _model_and_opt(1)  # other weights: the load must replace them all
        parallel.shard(sharded)
        sharded_opt = torch.optim.AdamW(sharded.parameters(), lr=1e-2)  # built after sharding
        _step(sharded, sharded_opt)  # so the optimizer has state to overwrite
        # (torch's set_*_state_dict turn the given tensors into DTensors in place: hand it copies)
        parallel.load_full_state(sharded, sharded_opt, copy.deepcopy(ref_model), copy.deepcopy(ref_opt), fsdp=True)
        back_model, back_opt = parallel.full_state(sharded, sharded_opt, fsdp=True)

        assert set(back_model) == set(ref_model)
        assert all(torch.equal(back_model[k], ref_model[k]) for k in ref_model)
        assert back_opt["param_groups"][0]["params"] == ref_opt["param_groups"][0]["params"]
        for i, s in ref_opt["state"].items():
            assert all(torch.equal(back_opt["state"][i][k], v) for k, v in s.items()), i
        # and back the other way: what FSDP saved loads into a plain model, step for step equal
        again, again_opt = _model_and_opt(2)
        parallel.load_full_state(again, again_opt, back_model, back_opt, fsdp=False)
        _step(again, again_opt)
        _step(plain, plain_opt)
        assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), plain.state_dict().values()))
    finally:
        dist.destroy_process_group()


def test_grad_sync_only_on_the_last_micro_batch():
    class Recorder:
        def __init__(self):
            self.flags, self.no_sync_calls = [], 0

        def set_requires_gradient_sync(self, flag):
            self.flags.append(flag)

        def no_sync(self):
            self.no_sync_calls += 1
            return torch.no_grad()  # any context manager

    one = Recorder()
    for last in (False, True):
        with parallel.grad_sync(one, one, fsdp=False, world=1, last=last):
            pass
    assert one.flags == [] and one.no_sync_calls == 0  # one process: nothing to sync or skip
    fsdp = Recorder()
    for last in (False, False, True):
        with parallel.grad_sync(fsdp, fsdp, fsdp=True, world=2, last=last):
            pass
    assert fsdp.flags == [False, False, True]
    ddp = Recorder()
    for last in (False, False, True):
        with parallel.grad_sync(ddp, ddp, fsdp=False, world=2, last=last):
            pass
    assert ddp.no_sync_calls == 2
