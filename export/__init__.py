"""Model training and export (needs the ``train`` extra: TensorFlow, tf2onnx)."""
