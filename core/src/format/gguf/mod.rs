//! GGUF: llama.cpp's checkpoint format (being written).
