"""The user's music library on disk: scan and analyse folders incrementally, write moods into the
files' tags (and undo it), export mood playlists, keep the user's own labels and a personal model.

Modules: :mod:`.catalog` (the library tables), :mod:`.scan`, :mod:`.tags`, :mod:`.m3u`,
:mod:`.labels`, :mod:`.personal`, and :mod:`.analyse` (the one door to mood prediction).
"""
