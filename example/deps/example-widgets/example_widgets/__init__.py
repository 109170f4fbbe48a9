"""Tiny HTML widgets rendered by pycroft-example's pages."""
from markupsafe import Markup

__all__ = ["badge"]


def badge(label: str, value: object) -> Markup:
    """A labelled value, escaped so user data cannot inject markup."""
    return Markup('<span class="badge"><b>{}</b> {}</span>').format(label, value)
