"""Makes uv.lock name the Python index configured (UV_DEFAULT_INDEX) instead of PyPI (src/images/dev.ts)."""

import os
import pathlib

lock = pathlib.Path("uv.lock")
lock.write_text(lock.read_text().replace('registry = "https://pypi.org/simple"', f'registry = "{os.environ["UV_DEFAULT_INDEX"]}"'))
