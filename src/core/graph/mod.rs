//! Topology graph (being written).
