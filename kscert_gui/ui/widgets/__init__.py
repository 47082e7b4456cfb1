"""Reusable widgets: timeline, activation term group, file field, verdict lists."""
