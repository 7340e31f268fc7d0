//! The `lamppost` server as a library: configuration, the server wiring, the management API and the CLI.
//!
//! `main.rs` only parses arguments and calls [`cli::run`].

pub mod api;
pub mod cli;
pub mod config;
pub mod server;
pub mod uac;
pub mod users;
