//! World files (being written)
