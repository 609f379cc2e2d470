//! chat_template (being written).
