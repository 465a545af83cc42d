import sys
from pathlib import Path

# The harness modules live beside the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))
