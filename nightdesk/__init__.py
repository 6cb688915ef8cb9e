"""Nightdesk: turn a company's data into checked, reviewed, published content."""
