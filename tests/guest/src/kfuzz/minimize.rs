//! Delta debugging of a program that found something: drop chunks of calls (halves, quarters,
//! ... single calls) while it still does, then simplify the arguments of what is left.

use std::time::Instant;

use super::program::{Buf, Call, Op, Program, Req, Val, DEFAULT_ARG, DEFAULT_RECTS};

/// What a candidate run showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The same kind of finding.
    Yes,
    No,
    /// It found it and the card no longer answers: the next step needs a reboot.
    Wedged,
}

pub struct Minimized {
    pub program: Program,
    /// Candidates run.
    pub runs: u32,
    /// Every reduction was tried (not cut short by the deadline).
    pub complete: bool,
    /// The last candidate wedged the card (it was printed before it ran).
    pub wedged: bool,
}

/// Minimises `program`, for which `check` said [`Verdict::Yes`], until `deadline`.
pub fn minimize(
    program: &Program,
    deadline: Instant,
    check: &mut dyn FnMut(&Program) -> Verdict,
) -> Minimized {
    let mut out = Minimized {
        program: program.clone(),
        runs: 0,
        complete: false,
        wedged: false,
    };
    let mut try_candidate = |out: &mut Minimized, candidate: Program| -> Option<bool> {
        if Instant::now() >= deadline {
            return None;
        }
        out.runs += 1;
        match check(&candidate) {
            Verdict::Yes => {
                out.program = candidate;
                Some(true)
            }
            Verdict::No => Some(false),
            Verdict::Wedged => {
                out.program = candidate;
                out.wedged = true;
                None
            }
        }
    };
    // Calls: drop chunks, from half the program down to single calls.
    let mut chunk = (out.program.calls.len() / 2).max(1);
    loop {
        let mut i = 0;
        while i < out.program.calls.len() && out.program.calls.len() > 1 {
            let mut candidate = out.program.clone();
            let end = (i + chunk).min(candidate.calls.len());
            candidate.calls.drain(i..end);
            if candidate.calls.is_empty() {
                i += chunk;
                continue;
            }
            match try_candidate(&mut out, candidate) {
                None => return out,
                Some(true) => {}
                Some(false) => i += chunk,
            }
        }
        if chunk == 1 {
            break;
        }
        chunk /= 2;
    }
    // Arguments: each call's simpler forms, one at a time.
    let mut i = 0;
    while i < out.program.calls.len() {
        for simpler in simplifications(&out.program.calls[i]) {
            let mut candidate = out.program.clone();
            candidate.calls[i] = simpler;
            if try_candidate(&mut out, candidate).is_none() {
                return out;
            }
        }
        i += 1;
    }
    out.complete = true;
    out
}

/// Simpler versions of `call`, each differing in one thing: run by the fuzzer itself, plainer
/// flags, default buffers, literal values.
pub fn simplifications(call: &Call) -> Vec<Call> {
    let mut out = Vec::new();
    if call.proc != 0 {
        out.push(Call {
            proc: 0,
            op: call.op.clone(),
        });
    }
    let mut with = |op: Op| {
        if op != call.op {
            out.push(Call {
                proc: call.proc,
                op,
            });
        }
    };
    match &call.op {
        Op::Open { f, node, flags } => {
            with(Op::Open {
                f: *f,
                node: *node,
                flags: flags & libc::O_ACCMODE,
            });
            with(Op::Open {
                f: *f,
                node: super::program::Node::Dev,
                flags: *flags,
            });
        }
        Op::Mmap {
            m,
            f,
            origin,
            within,
            len,
            prot,
            flags,
            at,
        } => {
            with(Op::Mmap {
                m: *m,
                f: *f,
                origin: *origin,
                within: *within,
                len: *len,
                prot: *prot,
                flags: *flags,
                at: None,
            });
            with(Op::Mmap {
                m: *m,
                f: *f,
                origin: *origin,
                within: *within,
                len: *len,
                prot: *prot,
                flags: flags & 3,
                at: *at,
            });
            with(Op::Mmap {
                m: *m,
                f: *f,
                origin: *origin,
                within: Val::lit(0),
                len: *len,
                prot: *prot,
                flags: *flags,
                at: *at,
            });
        }
        Op::Mremap {
            m,
            from,
            old: _,
            len,
            flags,
            at,
        } => {
            with(Op::Mremap {
                m: *m,
                from: *from,
                old: None,
                len: *len,
                flags: *flags,
                at: *at,
            });
        }
        Op::Touch {
            m,
            at,
            len: _,
            write,
        } => {
            with(Op::Touch {
                m: *m,
                at: *at,
                len: Val::lit(1),
                write: *write,
            });
        }
        Op::Io {
            kind,
            f,
            iov,
            off,
            rwf,
        } => {
            with(Op::Io {
                kind: *kind,
                f: *f,
                iov: iov.clone(),
                off: *off,
                rwf: 0,
            });
            if iov.len() > 1 {
                with(Op::Io {
                    kind: *kind,
                    f: *f,
                    iov: iov[..1].to_vec(),
                    off: *off,
                    rwf: *rwf,
                });
            }
        }
        Op::Ioctl { f, req, arg } => {
            with(Op::Ioctl {
                f: *f,
                req: req.clone(),
                arg: DEFAULT_ARG,
            });
            if let Req::Flush {
                count,
                rects,
                flags,
                at,
            } = req
            {
                if *at != DEFAULT_RECTS && !matches!(at, Buf::Null) {
                    with(Op::Ioctl {
                        f: *f,
                        req: Req::Flush {
                            count: *count,
                            rects: *rects,
                            flags: *flags,
                            at: DEFAULT_RECTS,
                        },
                        arg: *arg,
                    });
                }
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(text: &str) -> Program {
        text.parse().unwrap()
    }

    #[test]
    fn drops_every_call_the_finding_does_not_need() {
        let p = program(
            "open f0 node=dev flags=rdwr|sync\n\
             sysfs attr=mode\n\
             mmap m0 f0 off=1:0x0 len=0x1000 prot=r|w flags=shared\n\
             lseek f0 off=0x0 whence=set\n\
             &1 mremap m0 from=m0 len=4g+0x1000 flags=maymove\n\
             vsync f0\n\
             touch m0 at=len-0x1 len=0x1 op=w\n\
             getmode f0\n",
        );
        // The "bug": an open, an mremap to 4g+page and a touch, in that order.
        let needed = |p: &Program| {
            let text = p.lines();
            let (a, b, c) = (
                text.find("open f0"),
                text.find("len=4g+0x1000"),
                text.find("touch m0"),
            );
            matches!((a, b, c), (Some(a), Some(b), Some(c)) if a < b && b < c)
        };
        let out = minimize(
            &p,
            Instant::now() + std::time::Duration::from_secs(5),
            &mut |c| {
                if needed(c) {
                    Verdict::Yes
                } else {
                    Verdict::No
                }
            },
        );
        assert!(out.complete);
        assert_eq!(
            out.program.lines(),
            "open f0 node=dev flags=rdwr\nmremap m0 from=m0 len=4g+0x1000 flags=maymove\ntouch m0 at=len-0x1 len=0x1 op=w\n"
        );
    }

    #[test]
    fn a_wedging_candidate_stops_the_search() {
        let p = program("open f0 node=dev flags=rdwr\nvsync f0\ngetmode f0\n");
        let out = minimize(
            &p,
            Instant::now() + std::time::Duration::from_secs(5),
            &mut |_| Verdict::Wedged,
        );
        assert!(out.wedged);
        assert_eq!(out.runs, 1);
    }
}
