//! `lamppost`: the SIP registration server and its command line.

use clap::Parser;

/// mimalloc: less fragmentation than glibc's allocator under many threads, so memory per binding stays low. Built
/// without transparent huge pages (`no_thp`): a 2 MiB page per touched region doubled the idle footprint.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = lamppost::cli::Args::parse();
    match lamppost::cli::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lamppost: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
