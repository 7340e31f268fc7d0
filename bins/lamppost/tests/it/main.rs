//! Integration tests: the real `lamppost` binary over real sockets.

mod auth;
mod cli;
mod durability;
mod harness;
mod malformed;
mod peers;
mod registrar;
mod sip;
mod trunk;
mod trunk_selftest;
mod uac;
mod uac_kamailio;
mod uac_tables;
