"""Sound made by the program itself: chimes, demo music, and loudness analysis of tracks."""
