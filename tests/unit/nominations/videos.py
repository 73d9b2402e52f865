"""Tiny real videos made with PyAV (16x16 pixels, one frame per second)."""

from __future__ import annotations

from pathlib import Path

import av
from av.video.stream import VideoStream

CODECS = {"mp4": "mpeg4", "mov": "mpeg4", "mkv": "mpeg4", "webm": "libvpx"}


def make_video(path: Path, seconds: int) -> Path:
    """Write a video of exactly ``seconds`` seconds; the container follows the suffix."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(CODECS[path.suffix[1:]], rate=1)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
        for second in range(seconds):
            frame = av.VideoFrame(16, 16, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.pts = second
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
