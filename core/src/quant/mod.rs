//! Quantized weight formats (being written).
