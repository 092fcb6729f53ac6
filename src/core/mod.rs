//! The sans-IO core: plain data in, plain data out. No tokio, no clients, no terminal.

pub mod audit;
pub mod desired;
pub mod export;
pub mod graph;
pub mod lbc;
pub mod plan;
pub mod reach;
