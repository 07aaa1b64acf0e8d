"""Readers that turn raw sources (newsletter issues, feeds) into Stories."""
