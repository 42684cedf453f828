"""Feature sources: files, Spotify, ReccoBeats, the user's own audio. One contract for all."""
