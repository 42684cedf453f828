"""The user's own audio: decode, extract measurable and descriptor features, train and run the
audio mood model, mood timelines, and parallel extraction (process pool or Dask) with a
content-hash cache.

Importing this package imports nothing heavy; librosa, PyAV and dask load on first use.
"""
