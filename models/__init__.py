"""Shipped ONNX models and their model cards (data files only; see toolkit/info.py)."""
