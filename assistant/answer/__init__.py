"""Turning retrieved stories into a short briefing with verified citations."""
