"""MTCNN with the weights facenet-pytorch ships, on synthface renders and on no face."""

import torch

from ffedit.photo.mtcnn import box_overlaps, detect_faces, squared, suppress


def test_one_face_with_landmarks_where_a_face_has_them(mtcnn, turned_photo):
    found = detect_faces(mtcnn, turned_photo)
    assert len(found.scores) == 1 and float(found.scores[0]) > 0.9
    x0, y0, x1, y1 = found.boxes[0].tolist()
    assert 60 < x1 - x0 < 200
    left_eye, right_eye, nose, mouth_left, mouth_right = found.landmarks[0].tolist()
    assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    for x, y in found.landmarks[0].tolist():
        assert x0 <= x <= x1 and y0 <= y <= y1


def test_a_flat_image_has_no_face(mtcnn):
    found = detect_faces(mtcnn, torch.full((3, 200, 300), 128, dtype=torch.uint8))
    assert found.boxes.shape == (0, 4) and found.landmarks.shape == (0, 5, 2)


def test_suppression_keeps_the_best_of_overlapping_boxes_and_the_separate_one():
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=torch.float32)
    scores = torch.tensor([0.5, 0.9, 0.8])
    assert suppress(boxes, scores, 0.5).tolist() == [1, 2]
    assert box_overlaps(boxes[0], boxes[2:]).tolist() == [0.0]


def test_squared_boxes_keep_their_centre_and_take_the_longer_side():
    box = squared(torch.tensor([[10.0, 20.0, 30.0, 60.0]]))
    assert box.tolist() == [[0.0, 20.0, 40.0, 60.0]]
