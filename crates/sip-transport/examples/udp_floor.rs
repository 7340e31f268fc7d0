//! The floor of a UDP SIP server: what the kernel's UDP path costs per request when the server does no work.
//!
//! `bench/register.sh floor` runs it beside Kamailio and lamppost under the same sipp load, so the share of a
//! REGISTER's CPU that no registrar can avoid on this machine is measured, not guessed. It answers every request
//! with `200 OK` carrying the request's own headers (Via, From, To, Call-ID, CSeq: what sipp needs to match the
//! response), with one thread per core blocked in `recv_from`, as lamppost's UDP transport does. Nothing is parsed,
//! stored or authenticated.
//!
//! Usage: `udp_floor ADDR [THREADS]`, e.g. `udp_floor 127.0.0.1:45060 2`.

use std::net::UdpSocket;
use std::{env, process, thread};

const STATUS_LINE: &[u8] = b"SIP/2.0 200 OK\r\n";

fn main() {
    let mut args = env::args().skip(1);
    let Some(addr) = args.next() else {
        eprintln!("usage: udp_floor ADDR [THREADS]");
        process::exit(2);
    };
    let threads = match args.next().map(|t| t.parse::<usize>()) {
        None => thread::available_parallelism().map_or(2, usize::from),
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("udp_floor: THREADS must be a positive integer");
            process::exit(2);
        }
    };
    let socket = UdpSocket::bind(&addr).unwrap_or_else(|e| {
        eprintln!("udp_floor: cannot bind {addr}: {e}");
        process::exit(1);
    });
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let socket = socket.try_clone().expect("clone the socket");
            thread::spawn(move || answer_forever(&socket))
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
}

/// Receives requests and answers each with `200 OK` and the request's headers.
fn answer_forever(socket: &UdpSocket) {
    let mut buf = vec![0_u8; 65_536];
    let mut out = Vec::with_capacity(2048);
    loop {
        let Ok((len, remote)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let request = &buf[..len];
        // A request line ends at the first CRLF; keep-alives and garbage have none and get no answer.
        let Some(end) = request.windows(2).position(|w| w == b"\r\n") else {
            continue;
        };
        out.clear();
        out.extend_from_slice(STATUS_LINE);
        out.extend_from_slice(&request[end + 2..]);
        let _ = socket.send_to(&out, remote);
    }
}
