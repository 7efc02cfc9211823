"""The interpreter settings an index run changes are process-wide: they must be back afterwards, even on failure."""

from __future__ import annotations

import gc
import sys

import pytest

from indexer.pipeline import tuned_for_indexing


def test_an_index_run_restores_the_switch_interval_and_the_collector_even_when_it_fails() -> None:
    interval, thresholds = sys.getswitchinterval(), gc.get_threshold()
    with pytest.raises(RuntimeError), tuned_for_indexing():
        assert sys.getswitchinterval() < interval and gc.get_threshold()[0] >= 50_000
        assert gc.get_freeze_count() > 0
        raise RuntimeError("the build failed")
    assert sys.getswitchinterval() == interval and gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0
