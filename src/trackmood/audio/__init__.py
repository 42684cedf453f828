"""The user's own audio: decode, measurable and descriptor features, tempo and key, the musicnn
embedding and mood timelines — what the audio engine (:mod:`trackmood.engine`) runs in its
workers. Training the audio model is in :mod:`trackmood.model.audio_train`.

Importing this package imports nothing heavy. Extraction needs only numpy, soundfile, PyAV and soxr
(no librosa, numba or scipy.signal: no compiled-function cache to corrupt, fast start); scipy.signal
loads for files over 150 s (loudness filter), dask only for a cluster, matplotlib only for figures.
"""
