"""Newsdesk: a briefing assistant over newsletter issues and source feeds."""

__version__ = "0.1.0"
