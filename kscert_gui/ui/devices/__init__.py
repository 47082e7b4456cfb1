"""Managed devices: device list, group Properties, delivery forecast, simulation (§6)."""
