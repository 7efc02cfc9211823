"""numpy's BLAS with one thread around one matrix product: the store's local mirror (kb.mirror) and the learned
phrasings' index (kb.learned) search many rows with one product per message.

    >>> import numpy as np
    >>> with one_blas_thread():
    ...     float((np.ones((3, 2), np.float32) @ np.ones(2, np.float32)).sum())
    6.0
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from threadpoolctl import ThreadpoolController

_blas: list[ThreadpoolController] = []  # found on the first search (it lists the loaded libraries)
_blas_lock = threading.Lock()


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's BLAS with one thread for one product, then as it was: with its default of one thread per core, a
    3,000 x 384 product took 0.09 ms at the median but 8 ms at p95 on a busy 2-core machine, as the threads wait
    for each other; with one thread 0.23 ms and 0.27 ms, setting and restoring included. Only for the product,
    so the rest of the process keeps its BLAS threads; the lock keeps concurrent searches from restoring each
    other's limit halfway."""
    with _blas_lock:
        if not _blas:
            _blas.append(ThreadpoolController())
        with _blas[0].limit(limits=1, user_api="blas"):
            yield

