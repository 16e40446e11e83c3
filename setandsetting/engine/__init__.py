"""The engine: owns a live session, its clock, its scheduler and its devices."""
