"""Content generation for Nightdesk: drafts, copy and cover images produced from warehouse facts."""
