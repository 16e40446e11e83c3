"""The room folder: profiles, playlists, patients and library on disk, around the pure core."""
