"""Adaptive micro-batching: requests that arrive while a batch is being ranked are ranked together.

There is no fixed wait: an idle batcher ranks a lone request at once (no added latency at low
load), and under load each batch takes whatever queued meanwhile, up to ``max_size``, so one
matrix product serves many requests. Ranking runs on one worker thread (numpy releases the GIL),
leaving the event loop free to parse and answer HTTP while a batch is computed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class MicroBatcher(Generic[T, R]):
    """Runs ``fn`` over batches of submitted items; ``fn`` returns one result per item, in order."""

    def __init__(
        self,
        fn: Callable[[list[T]], Sequence[R]],
        max_size: int,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.fn = fn
        self.max_size = max_size
        self.on_batch = on_batch
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._running = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ranker")

    async def submit(self, item: T) -> R:
        """The result for ``item``, ranked in the next batch."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if not self._running:
            self._running = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                batch, self._queue = self._queue[: self.max_size], self._queue[self.max_size :]
                if self.on_batch is not None:
                    self.on_batch(len(batch))
                try:
                    results = await loop.run_in_executor(self._executor, self.fn, [item for item, _ in batch])
                except Exception as error:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._running = False

    def close(self) -> None:
        """Stop the worker thread (after the batch in progress)."""
        self._executor.shutdown(wait=True)
