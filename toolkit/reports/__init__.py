"""Outputs for people: Grad-CAM explanations of beats and one report page per recording."""
