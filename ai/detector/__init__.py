"""The object detector (YOLO26, port 8095): the first stop of every camera frame."""
