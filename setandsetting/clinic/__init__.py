"""The clinic: many rooms, one hub (PostgreSQL), one staff view."""
