"""The room daemon's HTTP side: JSON API, login and CSRF guard, SSE, and the web UI pages."""
