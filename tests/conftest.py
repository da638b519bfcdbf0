import os
import sys
from pathlib import Path

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
sys.path.insert(0, str(Path(__file__).parent))

try:  # the reference is a test-only extra; keep its logs quiet
    import transformers

    transformers.logging.set_verbosity_error()
except ImportError:  # pragma: no cover
    pass
