import numpy as np
import pytest
from PIL import Image

from ffedit.io import video
from ffedit.io.video import VideoError, ffmpeg_executable, write_video


def _frames(count: int, height: int = 21, width: int = 30) -> list[np.ndarray]:
    """Distinct frames (a moving bar), odd height to exercise the even-size padding."""
    frames = []
    for index in range(count):
        frame = np.zeros((height, width, 3), dtype=np.uint8)
        frame[:, index * 2 : index * 2 + 3] = (255, 128, 0)
        frames.append(frame)
    return frames


@pytest.mark.skipif(ffmpeg_executable() is None, reason="imageio-ffmpeg is not installed")
def test_mp4_has_the_mp4_signature_and_every_frame(tmp_path):
    import imageio_ffmpeg

    path = write_video(tmp_path / "orbit.mp4", iter(_frames(9)), fps=12)
    assert path == tmp_path / "orbit.mp4"
    data = path.read_bytes()
    assert data[4:8] == b"ftyp"
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert frames == 9
    assert [p.name for p in tmp_path.iterdir()] == ["orbit.mp4"]  # no temporary left behind


def test_without_ffmpeg_the_frames_become_a_gif(tmp_path, monkeypatch):
    monkeypatch.setattr(video, "ffmpeg_executable", lambda: None)
    path = write_video(tmp_path / "orbit.mp4", _frames(7), fps=10)
    assert path == tmp_path / "orbit.gif"
    assert path.read_bytes()[:6] == b"GIF89a"
    with Image.open(path) as image:
        assert image.n_frames == 7 and image.size == (30, 21)
        assert image.info["duration"] == 100 and image.info["loop"] == 0


def test_gif_paths_always_give_gifs(tmp_path):
    path = write_video(tmp_path / "a.gif", _frames(3), fps=25)
    with Image.open(path) as image:
        assert image.format == "GIF" and image.n_frames == 3


@pytest.mark.parametrize("writer", ["mp4", "gif"])
def test_bad_frames_are_refused(tmp_path, writer, monkeypatch):
    if writer == "gif":
        monkeypatch.setattr(video, "ffmpeg_executable", lambda: None)
    elif ffmpeg_executable() is None:
        pytest.skip("imageio-ffmpeg is not installed")
    with pytest.raises(VideoError, match="at least one frame"):
        write_video(tmp_path / "a.mp4", [], fps=10)
    with pytest.raises(VideoError, match="every frame"):
        write_video(tmp_path / "a.mp4", [_frames(1)[0], _frames(1, width=8)[0]], fps=10)
    with pytest.raises(VideoError, match="uint8"):
        write_video(tmp_path / "a.mp4", [np.zeros((4, 4, 3), np.float32)], fps=10)
    assert list(tmp_path.iterdir()) == []


def test_other_suffixes_are_refused(tmp_path):
    with pytest.raises(VideoError, match=r"\.mp4 or \.gif"):
        write_video(tmp_path / "a.avi", _frames(2))
