//! The llama-family decoder (being written).
