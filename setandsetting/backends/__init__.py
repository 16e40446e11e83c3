"""Devices behind small interfaces: music, chimes, cues. None is imported by the core."""
