"""Nightdesk: turn a company's data into checked, reviewed, published content."""

# Before anything can load torch: its OpenMP threads must wait passively (see generators/__init__.py).
import generators  # noqa: F401
