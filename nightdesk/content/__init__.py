"""Content production: turn the day's fact sheets into drafts and log every generation."""
