import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
sys.path.insert(0, str(Path(__file__).parent))

try:  # the reference is a test-only extra; keep its logs quiet
    import transformers

    transformers.logging.set_verbosity_error()
except ImportError:  # pragma: no cover
    pass


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny reference models run ~100x slower with 2 torch threads on a busy 2-core machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
