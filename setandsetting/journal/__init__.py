"""The session journal (SQLite), session review, exports and statistics."""
