"""Makes the test bots importable as ``bots``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
