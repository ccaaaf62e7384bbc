"""Imports the endpoint's own modules from model_code/, exactly as the container sees them.

In the container `code/` is on PYTHONPATH and inference.py does `import model_utils`; putting
model_code/ on sys.path gives the tooling the same modules rather than a copy of their logic.
"""

from __future__ import annotations

import sys

from cdk_app.paths import MODEL_CODE_DIR

if str(MODEL_CODE_DIR) not in sys.path:
    sys.path.insert(0, str(MODEL_CODE_DIR))

import inference
import model_utils

__all__ = ["inference", "model_utils"]
