"""Sphinx configuration of the example's documentation (shaped like Pycroft's doc/conf.py)."""
import os
import sys

# The packages are importable from the checkout, for autodoc.
sys.path.insert(0, os.path.abspath(".."))

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]
templates_path = ["_templates"]
source_suffix = ".rst"
master_doc = "index"
project = "Pycroft example"
copyright = "AG DSN"
exclude_patterns = ["_build"]
add_module_names = False
autodoc_default_options = {
    "members": True,
    "member-order": "bysource",
    "undoc-members": True,
}
html_theme = "alabaster"
html_static_path = ["_static"]
