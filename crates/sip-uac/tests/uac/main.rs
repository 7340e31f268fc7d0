//! The registration state machine against a scripted trunk, on a virtual clock.

mod auth;
mod control;
mod failures;
mod register;
mod support;
