"""Run one Ray task per item with a bounded window in flight, results in item order.

In order, so that what the driver writes (a sample file, shards) is the same run after run;
bounded, so that finished results never pile up in the driver beyond the window.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Callable, Iterable, Iterator


def ordered_results(submit: Callable[[Any], Any], items: Iterable[Any], window: int) -> Iterator[tuple[Any, Any]]:
    """Yields (item, result) in item order; submit(item) returns an ObjectRef."""
    import ray

    pending: deque = deque()
    it = iter(items)
    try:
        for item in it:
            pending.append((item, submit(item)))
            if len(pending) >= window:
                break
        while pending:
            item, ref = pending.popleft()
            result = ray.get(ref)
            nxt = next(it, _END)
            if nxt is not _END:
                pending.append((nxt, submit(nxt)))
            yield item, result
    finally:
        for _, ref in pending:  # the caller stopped early (error, break): don't leave work running
            ray.cancel(ref, force=False)


def unordered_results(submit: Callable[[Any], Any], items: Iterable[Any], window: int) -> Iterator[Any]:
    """Results as they finish, at most `window` in flight; for order-independent merges."""
    import ray

    it = iter(items)
    pending = [submit(x) for _, x in zip(range(window), it)]
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        for x in it:
            pending.append(submit(x))
            break
        yield ray.get(done[0])


_END = object()
