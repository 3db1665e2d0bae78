"""Florence-2 service (port 8092): captions, OCR and open-vocabulary boxes."""
