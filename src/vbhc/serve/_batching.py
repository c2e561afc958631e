"""Opportunistic micro-batching: requests waiting together share one model call.

A model call costs about the same for 1 row as for 30 (per-call overhead dominates),
so under load the service scores every request that arrived while the previous batch
ran in one call.  There is no timer: a lone request is scored at once, so batching adds
no latency when the service is quiet.

Batches are scored on the event loop itself, not in a worker thread: scoring is pure
Python and NumPy work that holds the GIL, and two threads taking turns on it (every
small NumPy or tree call hands it over) cost more than they overlap.  While a batch is
scored, new requests wait in the socket buffers and form the next batch; run more
processes (``--workers``) to use more cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from vbhc.core.log import get_logger

log = get_logger("vbhc.serve")
T = TypeVar("T")
R = TypeVar("R")


class MicroBatcher(Generic[T, R]):
    """Run ``fn(items) -> results`` (same length, same order) over batches of waiting items.

    Use :meth:`start` and :meth:`stop` from the application's lifespan; before
    :meth:`start` (or after :meth:`stop`) :meth:`submit` scores each item on its own.
    """

    def __init__(self, fn: Callable[[Sequence[T]], Sequence[R]], *, max_batch: int = 64) -> None:
        self._fn = fn
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[R]]] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="vbhc-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._queue = self._task = None

    async def submit(self, item: T) -> R:
        """The result for ``item``; raises what ``fn`` raised for it."""
        if self._queue is None:
            return self._fn([item])[0]
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            await asyncio.sleep(0)  # let requests already read reach the queue too
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            live = [(item, fut) for item, fut in batch if not fut.done()]  # skip requests whose client left
            if not live:
                continue
            start = time.perf_counter()
            try:
                results = self._fn([item for item, _ in live])
            except Exception:
                # One bad item must not fail its neighbours: score them one by one.
                for item, fut in live:
                    try:
                        result = self._fn([item])[0]
                    except Exception as exc:  # noqa: BLE001 - handed to the waiting request
                        _settle(fut, exc=exc)
                    else:
                        _settle(fut, result=result)
                continue
            for (_, fut), result in zip(live, results, strict=True):
                _settle(fut, result=result)
            log.debug("scored a batch of %d in %.1f ms", len(live), (time.perf_counter() - start) * 1000)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()


def _settle(fut: asyncio.Future, *, result: object = None, exc: BaseException | None = None) -> None:
    if fut.done():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(result)
