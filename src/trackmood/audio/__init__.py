"""The user's own audio: decode, extract measurable and descriptor features, train and run the
audio mood model, mood timelines, and parallel extraction (process pool or Dask) with a
content-hash cache.

Importing this package imports nothing heavy. Extraction needs only numpy, soundfile, PyAV and soxr
(no librosa, numba or scipy.signal: no compiled-function cache to corrupt, fast start); scipy.signal
loads for files over 150 s (loudness filter), dask only for a cluster, matplotlib only for figures.
"""
