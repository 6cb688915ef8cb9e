"""Sources: configuration plus a small reader that yields one logical date's rows."""
